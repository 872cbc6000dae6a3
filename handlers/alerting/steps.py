"""Alerting's Workflow Builder steps: *Snooze a Kibana rule* and *Mute a Kibana alert*.

Each checks its inputs with the command's own parser (`snooze <rule_id> <duration>`, `mute <rule_id>
<alert_id> [for …|until …]`) and runs the same write as the command and the buttons (handlers/alerting/writes.py:
the audit trail, the snooze-long check, the snooze records).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from handlers.alerting import writes
from handlers.alerting.actions import ACTIONS, MUTE, MUTE_STEP, SNOOZE, SNOOZE_STEP, AlertArgs, SnoozeArgs
from handlers.alerting.target import Target
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.steps import RUN_BY, SPACE, SUMMARY, Param, Step, StepRun, step_listener

RULE_ID = Param("rule_id", "string", "Rule id", "The Kibana rule's id, as in its URL in Kibana")
ALERT_ID = Param("alert_id", "string", "Alert id", "The alert's id within its rule (as the alert message shows it)")
DURATION = Param(
    "duration",
    "string",
    "Snooze for",
    "How long: 30m, 4h, 1d or 2w (longer than 1 day needs the role of snooze-long)",
    hint="4h",
)
SNOOZED_UNTIL = Param("snoozed_until", "slack#/types/timestamp", "Snoozed until", "When the snooze ends")
UNTIL = Param(
    "until",
    "string",
    "Mute until",
    "When the mute ends: for 4h, 1h, until 09:00, tomorrow 09:00 or 2026-12-07T09:00; empty: until someone unmutes it",
    required=False,
    hint="for 4h",
)
MUTED_UNTIL = Param(
    "muted_until",
    "slack#/types/timestamp",
    "Muted until",
    "When the mute ends (empty when it lasts until someone unmutes it)",
    required=False,
)


def _rule_target(inputs: Mapping[str, Any]) -> str:
    rule = inputs.get(RULE_ID.name)
    return rule if isinstance(rule, str) else ""


async def snooze(run: StepRun) -> dict[str, Any]:
    command = ACTIONS.parsers[SNOOZE.name]([run.word(RULE_ID.name), run.word(DURATION.name)])
    args = command.args_as(SnoozeArgs)
    started = datetime.now(UTC)
    done = await writes.apply(
        run.services, run.actor, writes.SNOOZE, Target(rule_id=args.rule_id, space=run.space), duration=args.duration
    )
    until = started + writes.snooze_length(args.duration)
    return {
        RULE_ID.name: args.rule_id,
        SNOOZED_UNTIL.name: int(until.timestamp()),
        SUMMARY.name: f"{run.actor.mention} {done}.",
    }


def until_words(text: str) -> list[str]:
    """The step's *Mute until* as the words the `mute` command takes after the ids: `1h` → `for 1h`,
    `09:00` → `until 09:00`, `tomorrow 09:00` → `until tomorrow 09:00`; `for …`/`until …` as they are."""
    words = text.split()
    if not words or words[0].lower() in ("for", "until"):
        return words
    if len(words) == 1 and words[0][:-1].isdigit():  # 1h, 30m, 2d: a length
        return ["for", *words]
    return ["until", *words]  # 09:00, tomorrow 09:00, 2026-12-07T09:00 (the parser says what is wrong)


async def mute(run: StepRun) -> dict[str, Any]:
    ids = [run.word(RULE_ID.name), run.text(ALERT_ID.name, limit=512)]
    command = ACTIONS.parsers[MUTE.name]([*ids, *until_words(run.text(UNTIL.name, limit=100))])
    args = command.args_as(AlertArgs)
    target = Target(rule_id=args.rule_id, space=run.space, alert_id=args.alert_id)
    # The same write as `mute <rule_id> <alert_id> for …` (handlers/alerting/commands.py: write_now).
    done = await writes.apply(run.services, run.actor, writes.MUTE, target, duration=args.end)
    outputs: dict[str, Any] = {
        RULE_ID.name: args.rule_id,
        ALERT_ID.name: args.alert_id,
        SUMMARY.name: f"{run.actor.mention} {done}.",
    }
    if args.end is not None:
        # The end the write recorded (resolved from the words when Kibana was called).
        kept = await run.services.store.timed_mutes_of(space=run.space, rule_id=args.rule_id)
        ends = [m.ends_at for m in kept if m.alert_id == args.alert_id and m.ends_at is not None]
        if ends:
            outputs[MUTED_UNTIL.name] = int(ends[0].timestamp())
    return outputs


SNOOZE_RULE = Step(
    SNOOZE_STEP,
    "Snooze a Kibana rule",
    "Snooze a Kibana alerting rule's notifications for a while, as the person who runs the workflow",
    SNOOZE,
    inputs=(RULE_ID, DURATION, SPACE, RUN_BY),
    outputs=(RULE_ID, SNOOZED_UNTIL, SUMMARY),
    run=snooze,
    target=_rule_target,
)
MUTE_ALERT = Step(
    MUTE_STEP,
    "Mute a Kibana alert",
    "Mute one alert of a Kibana alerting rule, as the person who runs the workflow",
    MUTE,
    inputs=(RULE_ID, ALERT_ID, UNTIL, SPACE, RUN_BY),
    outputs=(RULE_ID, ALERT_ID, MUTED_UNTIL, SUMMARY),
    run=mute,
    target=_rule_target,
)
STEPS = (SNOOZE_RULE, MUTE_ALERT)


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    return {step.callback_id: step_listener(plumbing, step) for step in STEPS}
