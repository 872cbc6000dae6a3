"""How an alert looks in Slack: one message with the rule, the alert, and its buttons.

What the message shows is kept in the store (keyed by channel and ts), so that after a
button acts on it the message is rendered again from that state, with the status lines
("<@U…> muted alert `host-1` of rule `r1` at 10:42 UTC") that buttons added.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ValidationError

from bot.services import Services
from handlers.alerting.buttons import RuleState, alert_element, link, mute_menu, rule_elements
from handlers.alerting.target import Target
from handlers.alerting.writes import Written
from handlers.alerts.card_facts import CardFacts, facts_block
from handlers.cases.actions import CASE_ATTACH, CASE_OPEN
from handlers.shared.blocks import Block, actions, button, clip, code, context, escape, header, section
from handlers.shared.outcome import MAX_STATUS_LINES, STATUS_BLOCK

REASON_LIMIT = 2500  # leaves room in the section's 3000 characters
TEXT_LIMIT = 300  # the notification text
ALERT_BLOCK = "alert_actions"
RULE_BLOCK = "rule_actions"


class AlertView(BaseModel):
    """Everything an alert message shows; stored as JSON beside the message."""

    rule_id: str
    rule_name: str
    space: str
    alert_id: str
    alert_uuid: str
    action_group: str
    reason: str = ""
    rule_url: str
    tags: list[str] = []
    summary: bool = False  # a summary-frequency action (alert id = rule id): a rule-level message
    date: datetime  # when Kibana first reported the alert
    updated: datetime | None = None  # the latest delivery that changed what is shown
    recovered_at: datetime | None = None
    recovery_reason: str = ""
    # What the buttons depend on. Kibana runs no action of a muted alert, a rule whose alerts are
    # all muted, or a disabled rule, so a delivery means none of these; buttons change them.
    muted: bool = False
    rule_muted_all: bool = False
    rule_enabled: bool = True
    # The store's row of the alert, when known: the snooze menu names it for a rule id too long for Slack.
    row: int | None = None
    facts: CardFacts | None = None  # what else the alert carries (card_facts.py)

    @property
    def recovered(self) -> bool:
        return self.recovered_at is not None

    def target(self) -> Target:
        return Target(rule_id=self.rule_id, space=self.space, alert_id=self.alert_id, alert_uuid=self.alert_uuid)

    def after(self, done: Written) -> AlertView:
        """What the message shows once `done` happened (to this alert, or to its rule)."""
        if done.target.rule_id != self.rule_id or done.target.space != self.space:
            return self
        changes: dict[str, bool] = done.change.rule_fields()
        if done.change.alert_muted is not None and done.target.alert_id == self.alert_id:
            changes["muted"] = done.change.alert_muted
        return self.model_copy(update=changes) if changes else self


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def alert_text(view: AlertView) -> str:
    """The notification text (and what screen readers and old clients show)."""
    which = "its alerts" if view.summary else f"alert {view.alert_id}"
    if view.recovered:
        return clip(escape(f"Recovered: {view.rule_name} — {which}"), TEXT_LIMIT)
    reason = f": {view.reason}" if view.reason else ""
    return clip(escape(f"[{view.action_group}] {view.rule_name} — {which}{reason}"), TEXT_LIMIT)


def alert_blocks(
    view: AlertView,
    status_lines: tuple[str, ...] | list[str] = (),
    *,
    snooze_api: bool = True,
    claim: list[Block] | None = None,
    alert_snooze: bool = False,
) -> list[Block]:
    """The message: what happened, where, and what can be done about it (no Snooze menu where Kibana
    has no snooze API; *until it gets worse* in the Mute for… menu where it has the alert snooze);
    `claim`: who is on it and its *I'm on it* buttons (handlers.alerts.claim)."""
    icon = ":white_check_mark:" if view.recovered else ":rotating_light:"
    reason = escape(clip(view.reason, REASON_LIMIT)) if view.reason else "_Kibana gave no reason._"
    alert = "all alerts of the rule (a summary)" if view.summary else code(view.alert_id)
    fields = [
        f"*Alert*\n{alert}",
        f"*Action group*\n{code(view.action_group)}",
        f"*Rule*\n{code(view.rule_id)}",
        f"*Space*\n{code(view.space)}",
        f"*Time*\n{_utc(view.date)}",
    ]
    if view.tags:
        fields.append("*Tags*\n" + " ".join(f"{code(t)}" for t in view.tags[:20]))
    blocks: list[Block] = [
        header(f"{icon} {'Recovered: ' if view.recovered else ''}{view.rule_name}"),
        section(reason, fields=fields, block_id="alert_summary"),
        *facts_block(view.facts),
    ]
    if view.recovered_at is not None:
        recovery = f"*Recovered* at {_utc(view.recovered_at)}"
        if view.recovery_reason and view.recovery_reason != view.reason:
            recovery += f" — {escape(clip(view.recovery_reason, 1000))}"
        blocks.append(section(recovery, block_id="alert_recovered"))
    blocks.extend(claim or ())
    target = view.target()
    if not view.recovered and not view.summary:  # muting an alert that is gone does nothing: that button goes
        alert_elements = [alert_element(target, muted=view.muted)]
        menu = None if view.muted else mute_menu(target, row=view.row, until_worse=alert_snooze)
        if menu is not None:  # Mute alert mutes until someone unmutes; Mute for… until a time
            alert_elements.append(menu)
        blocks.append(actions(*alert_elements, block_id=ALERT_BLOCK))
    blocks.append(actions(*rule_buttons(view, target, snooze_api=snooze_api), block_id=RULE_BLOCK))
    if status_lines:
        blocks.append(context(*list(status_lines)[-MAX_STATUS_LINES:], block_id=STATUS_BLOCK))
    footer = f"alert uuid {code(view.alert_uuid)}"
    if view.updated is not None:
        footer += f" · updated {_utc(view.updated)}"
    blocks.append(context(footer, block_id="alert_footer"))
    return blocks


def rule_buttons(view: AlertView, target: Target, *, snooze_api: bool = True) -> list[Block]:
    state = RuleState(muted_all=view.rule_muted_all, enabled=view.rule_enabled, snooze_api=snooze_api)
    return [
        # The confirmation names the rule by its id: the name came in the webhook body, not from Kibana.
        *rule_elements(target, None, state, row=view.row),
        button("Open case", CASE_OPEN, target.pack()),  # the cases feature reads the alert's `Target`
        button("Add to case…", CASE_ATTACH, target.pack()),  # this alert, or (rule only) the group's alerts
        link(view.rule_url),
    ]


# ---- the stored state ------------------------------------------------------------------


async def load(services: Services, channel: str, ts: str) -> tuple[AlertView, tuple[str, ...]] | None:
    """The alert shown by the message at (channel, ts) and its status lines; None when not an alert message."""
    stored = await services.store.get_alert_content(channel=channel, ts=ts)
    if stored is None:
        return None
    try:
        return AlertView.model_validate_json(stored.content), stored.status_lines
    except ValidationError:
        return None


async def save(services: Services, channel: str, ts: str, view: AlertView) -> None:
    await services.store.save_alert_content(channel=channel, ts=ts, content=view.model_dump_json())
