"""How an alert looks in Slack: one message with the rule, the alert, and its buttons.

What the message shows is kept in the store (keyed by channel and ts), so that after a
button acts on it the message is rendered again from that state, with the status lines
("<@U…> muted alert `host-1` of rule `r1` at 10:42 UTC") that buttons added.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ValidationError

from bot.services import Services
from handlers import values
from handlers.blocks import Block, actions, button, clip, confirm, context, escape, header, section
from handlers.outcome import MAX_STATUS_LINES, RENDERERS, STATUS_BLOCK
from handlers.rules import snooze_menu
from handlers.values import Target

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
    date: datetime  # when Kibana first reported the alert
    updated: datetime | None = None  # the latest delivery that changed what is shown
    recovered_at: datetime | None = None
    recovery_reason: str = ""

    @property
    def recovered(self) -> bool:
        return self.recovered_at is not None

    def target(self) -> Target:
        return Target(rule_id=self.rule_id, space=self.space, alert_id=self.alert_id, alert_uuid=self.alert_uuid)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def alert_text(view: AlertView) -> str:
    """The notification text (and what screen readers and old clients show)."""
    if view.recovered:
        return clip(f"Recovered: {view.rule_name} — alert {view.alert_id}", TEXT_LIMIT)
    reason = f": {view.reason}" if view.reason else ""
    return clip(f"[{view.action_group}] {view.rule_name} — alert {view.alert_id}{reason}", TEXT_LIMIT)


def alert_blocks(view: AlertView, status_lines: tuple[str, ...] | list[str] = ()) -> list[Block]:
    """The message: what happened, where, and what can be done about it."""
    icon = ":white_check_mark:" if view.recovered else ":rotating_light:"
    reason = escape(clip(view.reason, REASON_LIMIT)) if view.reason else "_Kibana gave no reason._"
    fields = [
        f"*Alert*\n`{escape(view.alert_id)}`",
        f"*Action group*\n`{escape(view.action_group)}`",
        f"*Rule*\n`{escape(view.rule_id)}`",
        f"*Space*\n`{escape(view.space)}`",
        f"*Time*\n{_utc(view.date)}",
    ]
    if view.tags:
        fields.append("*Tags*\n" + " ".join(f"`{escape(t)}`" for t in view.tags[:20]))
    blocks: list[Block] = [
        header(f"{icon} {'Recovered: ' if view.recovered else ''}{view.rule_name}"),
        section(reason, fields=fields, block_id="alert_summary"),
    ]
    if view.recovered_at is not None:
        recovery = f"*Recovered* at {_utc(view.recovered_at)}"
        if view.recovery_reason and view.recovery_reason != view.reason:
            recovery += f" — {escape(clip(view.recovery_reason, 1000))}"
        blocks.append(section(recovery, block_id="alert_recovered"))
    target = view.target().encode()
    if not view.recovered:  # muting an alert that is gone does nothing: those buttons go
        blocks.append(
            actions(
                button("Mute alert", values.ALERT_MUTE, target),
                button("Unmute alert", values.ALERT_UNMUTE, target),
                block_id=ALERT_BLOCK,
            )
        )
    blocks.append(actions(*rule_elements(view, target), block_id=RULE_BLOCK))
    if status_lines:
        blocks.append(context(*list(status_lines)[-MAX_STATUS_LINES:], block_id=STATUS_BLOCK))
    footer = f"alert uuid `{escape(view.alert_uuid)}`"
    if view.updated is not None:
        footer += f" · updated {_utc(view.updated)}"
    blocks.append(context(footer, block_id="alert_footer"))
    return blocks


def rule_elements(view: AlertView, target: str) -> list[Block]:
    rule_only = Target(rule_id=view.rule_id, space=view.space).encode()
    mute_all = confirm(
        "Mute all alerts?",
        f"No notifications for any alert of *{escape(view.rule_name)}* until someone unmutes it.",
        "Mute all",
    )
    return [
        button("Mute all", values.RULE_MUTE_ALL, rule_only, confirm=mute_all),
        button("Unmute all", values.RULE_UNMUTE_ALL, rule_only),
        button("Disable…", values.RULE_DISABLE, rule_only, style="danger"),
        button("Enable", values.RULE_ENABLE, rule_only),
        snooze_menu(view.rule_id, view.space),
        button("Open case", values.CASE_OPEN, target),
        button("Open in Kibana", values.RULE_LINK, url=view.rule_url),
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


async def render_stored(
    services: Services, channel: str, ts: str, new_lines: list[str]
) -> tuple[list[Block], str] | None:
    """`handlers.outcome` renderer: an alert message again, with `new_lines` added to its status."""
    stored = await services.store.get_alert_content(channel=channel, ts=ts)
    if stored is None:
        return None
    try:
        view = AlertView.model_validate_json(stored.content)
    except ValidationError:
        return None
    lines = stored.status_lines
    if new_lines:
        updated = await services.store.add_alert_status_lines(channel=channel, ts=ts, lines=new_lines)
        lines = updated.status_lines if updated is not None else (*lines, *new_lines)
    return alert_blocks(view, lines), alert_text(view)


def install_renderer() -> None:
    """Let button outcomes re-render alert messages (once per process)."""
    if render_stored not in RENDERERS:
        RENDERERS.append(render_stored)
