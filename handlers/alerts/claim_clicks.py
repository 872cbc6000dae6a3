"""*I'm on it* and *Release* (and `claim` / `release`): who is on an episode, held in the store, told in place
and in the thread, audited; Security detection alerts are also acknowledged in Kibana (handlers.alerts.claim_kibana).

A click acts only on what its message shows (handlers/alerting/shown.py): a value naming another rule,
space or episode is refused as forged, and audited, by the guard.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services import Services
from bot.store.alert_groups import AlertGroup
from handlers.alerting.actions import RuleArgs
from handlers.alerting.shown import check_shown
from handlers.alerting.target import Target
from handlers.alerts.claim import ALERT_CLAIM, ALERT_RELEASE, CLAIM, RELEASE, ClaimValue, named, since
from handlers.alerts.claim_kibana import acknowledge, reopen
from handlers.shared.audit import record
from handlers.shared.codec import ForgedValue
from handlers.shared.context import Actor, Invocation
from handlers.shared.feature import Listener, Plumbing, Route
from handlers.shared.guard import Aim, Click, NothingToDo, packed
from handlers.shared.interaction import Interaction
from handlers.shared.outcome import Done, Origin


@dataclass(frozen=True)
class ClaimChanged(Done):
    """Who is on an episode changed: the group's message is drawn again from the store."""

    group_id: int


def _gone(services: Services) -> NothingToDo:
    return NothingToDo(
        "This message is no longer in the bot's records (its episode closed long ago), so nobody can be on it "
        f"from here; use `{services.settings.slack_command} rules` to find the rule."
    )


class Claims:
    def __init__(self, plumbing: Plumbing) -> None:
        self.plumbing = plumbing
        self.services = plumbing.services

    # ---- what a click or a command does -------------------------------------------------------

    async def claim(
        self, actor: Actor, group: AlertGroup, target: Target, shown_holder: str | None, origin: Origin
    ) -> None:
        store = self.services.store
        done = await store.claim_alert_group(group.id, actor.user_id, shown_holder=shown_holder)
        what = named(target)
        if done.outcome == "already_yours":
            raise NothingToDo(f"You are already on {what}.")
        assert done.claim is not None
        if done.outcome == "held":
            raise NothingToDo(
                f"<@{done.claim.user_id}> is on {what} since {since(done.claim)} (they pressed first); nothing "
                "changed. To take it over, press *I'm on it* again on the message."
            )
        if done.outcome == "taken_over":
            sentence = f"took over {what} from <@{done.claim.taken_from}>"
            detail = f"taken over from {done.claim.taken_from}"
        else:
            sentence = f"is on {what}"
            detail = ""
            sentence += await acknowledge(self.services, group, target, actor.user_id)
        await record(self.services, actor, CLAIM.name, target, result="ok", detail=detail, space=target.space)
        await self._show(origin, actor, sentence, group.id)

    async def release(self, actor: Actor, group: AlertGroup, target: Target, origin: Origin) -> None:
        store = self.services.store
        released = await store.unclaim_alert_group(group.id, actor.user_id)
        what = named(target)
        if released is None:
            holder = await store.alert_group_claim(group.id)
            if holder is None:
                raise NothingToDo(f"Nobody is on {what}; there is nothing to release.")
            raise NothingToDo(
                f"<@{holder.user_id}> is on {what}, not you, so it stays theirs. To take it over, press *I'm on it*."
            )
        sentence = f"released {what}: nobody is on it now" + await reopen(self.services, released, target)
        await record(self.services, actor, RELEASE.name, target, result="ok", space=target.space)
        await self._show(origin, actor, sentence, group.id)

    async def _show(self, origin: Origin, actor: Actor, sentence: str, group_id: int) -> None:
        # The publisher draws the group again too: the claim lands even if one of its updates raced this one.
        await self.services.store.mark_alert_group_changed(group_id)
        await self.plumbing.outcomes.report(origin, actor, sentence, done=ClaimChanged(group_id))

    # ---- the buttons --------------------------------------------------------------------------

    async def _group_of(self, interaction: Interaction, value: ClaimValue) -> tuple[AlertGroup, Target]:
        target = value.target()
        if not interaction.channel or not interaction.message_ts or interaction.ephemeral:
            raise _gone(self.services)
        group = await self.services.store.alert_group_at(channel=interaction.channel, ts=interaction.message_ts)
        if group is None:
            raise _gone(self.services)
        return group, target

    def listeners(self) -> dict[str, Listener]:
        async def resolve(interaction: Interaction) -> ClaimValue:
            value = ClaimValue.unpack(interaction.value)
            try:
                target = value.target()
            except ValueError:
                raise ForgedValue(ClaimValue.FORGED) from None
            await check_shown(self.services, interaction, target)  # ForgedValue: not what the message shows
            return value

        def aim(value: ClaimValue) -> Aim:
            return Aim(value.target(), value.space, value.rule_id, value.alert_id)

        async def on_claim(value: ClaimValue, interaction: Interaction) -> None:
            group, target = await self._group_of(interaction, value)
            await self.claim(interaction.actor, group, target, value.holder, Origin.of(interaction))

        async def on_release(value: ClaimValue, interaction: Interaction) -> None:
            group, target = await self._group_of(interaction, value)
            await self.release(interaction.actor, group, target, Origin.of(interaction))

        guard = self.plumbing.guard
        decode = packed(ClaimValue.unpack)
        return {
            ALERT_CLAIM: guard.click(Click(decode=decode, aim=aim, run=on_claim, resolve=resolve)),
            ALERT_RELEASE: guard.click(Click(decode=decode, aim=aim, run=on_release, resolve=resolve)),
        }

    # ---- the commands -------------------------------------------------------------------------

    async def _open_group(self, invocation: Invocation) -> tuple[AlertGroup, Target, Origin]:
        rule_id = invocation.args(RuleArgs).rule_id
        channel = invocation.actor.channel_id or ""
        store = self.services.store
        group_id = await store.open_alert_group_in(channel=channel, rule_id=rule_id, space=invocation.space)
        group = await store.alert_group(group_id) if group_id is not None else None
        if group is None or group.ts is None:
            raise NothingToDo(
                f"No alert of rule `{rule_id}` in space `{invocation.space}` is firing in this channel, so there is "
                "nothing to be on here. Run the command in the channel where its alerts are posted."
            )
        origin = Origin(
            channel=group.message_channel, message_ts=group.ts, response_url=invocation.response_url, ephemeral=False
        )
        return group, Target(rule_id=rule_id, space=invocation.space), origin

    def routes(self) -> dict[str, Route]:
        async def claim_command(invocation: Invocation) -> None:
            group, target, origin = await self._open_group(invocation)
            holder = await self.services.store.alert_group_claim(group.id)
            await self.claim(invocation.actor, group, target, holder.user_id if holder else None, origin)

        async def release_command(invocation: Invocation) -> None:
            group, target, origin = await self._open_group(invocation)
            await self.release(invocation.actor, group, target, origin)

        return {CLAIM.name: claim_command, RELEASE.name: release_command}
