"""A click acts only on what the message it came from shows.

What a button or a menu acts on travels in its value, and a value can be forged: Slack's client sends
back whatever it is given. A value is first read (`chosen`): the `Target` the bot packed, or a sealed
reference to an alert row that stands for a `Target` too long for a menu option. Then, when the click
comes from an alert message the store knows (a rule's group message, which is also the one-alert
message), the target must be what that message shows (`check_shown`): its rule in its space, and, for
an alert, an alert counted in its episode. Anything else (an alert of another rule, another space, or
another episode) is refused as forged: the guard audits it and tells the person.

A click from an ephemeral message (the rule card, answered to one person) or from a message the store
no longer knows (pruned ALERT_HISTORY_DAYS after its episode closed, or posted before alerts were
grouped) acts on what its value names, as the slash command would, after the same access check.
"""

from __future__ import annotations

from bot.services import Services
from bot.store.alerts import ShownRule
from handlers.alerting.actions import ALERT_MUTE_FOR, RULE_SNOOZE
from handlers.alerting.target import AlertReference, Target
from handlers.shared.blocks import code
from handlers.shared.codec import ForgedValue
from handlers.shared.interaction import Interaction


async def chosen(services: Services, interaction: Interaction) -> Target:
    """What the button or menu option names: its `Target`, or what its sealed reference stands for;
    ForgedValue when that is not what the message it came from shows."""
    text = interaction.value
    if not text or text.startswith("{"):
        target = Target.unpack(text)
        await check_shown(services, interaction, target)
        return target
    reference = AlertReference.unpack(text)
    if (reference.option is not None) != (interaction.action_id in (RULE_SNOOZE, ALERT_MUTE_FOR)):
        raise ForgedValue(Target.FORGED)  # a choice only in the snooze and mute menus, an alert only in an alert menu
    stored = await services.store.stored_alert(reference.row)
    if stored is None:
        slash = services.settings.slack_command
        if reference.option is not None:
            raise ForgedValue(f"That rule is no longer in the bot's records; use `{slash} snooze`.")
        raise ForgedValue(f"That alert is no longer in the bot's records; use `{slash} mute` or `{slash} unmute`.")
    if reference.option is not None and interaction.action_id == RULE_SNOOZE:
        target = Target(rule_id=stored.rule_id, space=stored.space, option=reference.option)
    elif reference.option is not None:  # the Mute for… menu: this alert, until the choice
        target = Target(
            rule_id=stored.rule_id,
            space=stored.space,
            alert_id=stored.alert_id,
            alert_uuid=stored.alert_uuid,
            option=reference.option,
        )
    else:
        target = Target(
            rule_id=stored.rule_id, space=stored.space, alert_id=stored.alert_id, alert_uuid=stored.alert_uuid
        )
    shown = await _shown_by(services, interaction)
    if shown is not None and stored.group_id != shown.group_id:  # the bot's own reference, of another message
        raise ForgedValue(_not_shown(target.rule_id, target.alert_id))
    return target


async def _shown_by(services: Services, interaction: Interaction) -> ShownRule | None:
    """The rule and episode of the alert message the click came from; None when it came from an
    ephemeral message, or from one the store does not know."""
    if not interaction.message_ts or interaction.ephemeral or not interaction.channel:
        return None
    return await services.store.rule_shown_at(channel=interaction.channel, ts=interaction.message_ts)


async def check_shown(services: Services, interaction: Interaction, target: Target) -> None:
    """ForgedValue unless `target` is what the alert message the click came from shows (any target is
    let through from an ephemeral message, or from a message the store does not know)."""
    shown = await _shown_by(services, interaction)
    if shown is None:
        return
    if (target.rule_id, target.space) != (shown.rule_id, shown.space):
        raise ForgedValue(_not_shown(target.rule_id, target.alert_id))
    if target.alert_id is None:
        return
    row = await services.store.alert_in_group(shown.group_id, alert_id=target.alert_id, alert_uuid=target.alert_uuid)
    if row is None:
        raise ForgedValue(_not_shown(target.rule_id, target.alert_id))


def _not_shown(rule_id: str, alert_id: str | None) -> str:
    named = f"alert {code(alert_id)} of rule {code(rule_id)}" if alert_id else f"rule {code(rule_id)}"
    return (
        f"That choice names {named}, which this message does not show, so nothing was done. "
        "Use the buttons and menus of the message that shows it."
    )
