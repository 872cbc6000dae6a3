"""Workflow Builder steps (Slack's custom steps, `function_executed` → `complete()` or `fail()`).

A feature declares a `Step`: its callback id, title, typed inputs and outputs (what manifest.json's
`functions` says of it: a test keeps the two equal), the catalog action it performs, and `run`, which
acts and returns the outputs. `step_listener` makes it a Bolt listener that applies what every
other way in applies:

- the step acts as the person in its *Run by* input (`slack#/types/user_context`, which Workflow
  Builder fills with the person who used the workflow and signs, so it can't be set to someone else);
  a step runs outside any channel, so only grants without `channels` apply to it;
- the access policy for the action in its space, the store's replay and outage checks before a
  write, the person's own Kibana key with KIBANA_IDENTITY=person;
- every failure ends the step through `fail()` with the sentence a person sees elsewhere.

Slack delivers a step as an Events API event; a redelivery with the same event_id is skipped
(bot/request_context.py), and the steps that create something key it by the execution's id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.context.complete.async_complete import AsyncComplete
from slack_bolt.context.fail.async_fail import AsyncFail

from bot.identifiers import control_character
from bot.kibana.acting import KibanaNotLinked, PersonKeyRejected
from bot.services import Services
from handlers.shared.audit import check_access, ensure_writable, record
from handlers.shared.catalog import Action, Catalog
from handlers.shared.context import Actor
from handlers.shared.errors import Doing, describe, key_rejected
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.grammar import is_space_id, short
from handlers.shared.guard import NothingToDo
from handlers.shared.identity import Unlinked, as_person, person_key

log = logging.getLogger(__name__)

USER_ID_PATTERN = "U0123ABCD"  # for the sentence: what a Slack user id looks like
MAX_INPUT = 30_000  # characters of one text input (a case description, Kibana's own limit)


@dataclass(frozen=True)
class Param:
    """One input or output parameter, as the manifest declares it."""

    name: str
    type: str  # string, integer, boolean, slack#/types/timestamp, slack#/types/user_context, …
    title: str
    description: str
    required: bool = True
    hint: str | None = None

    def manifest(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "is_required": self.required,
            "name": self.name,
        }
        if self.hint:
            entry["hint"] = self.hint
        return entry


RUN_BY = Param(
    "run_by",
    "slack#/types/user_context",
    "Run by",
    "The person the step acts as: their access to Kibana ChatOps applies",
    hint="Choose “Person who used this workflow”",
)
SPACE = Param(
    "space",
    "string",
    "Kibana space",
    "The Kibana space id; empty: the bot's default space",
    required=False,
    hint="default, ops, …",
)
SUMMARY = Param("summary", "string", "Summary", "What was done, as Kibana ChatOps says it in Slack")


class StepInputError(ValueError):
    """An input Workflow Builder passed that the step can't use; the message is for the person."""


@dataclass(frozen=True)
class StepRun:
    """One execution of a step, after the access check: who, where, and its inputs."""

    services: Services
    catalog: Catalog
    actor: Actor
    space: str
    inputs: Mapping[str, Any]
    execution_id: str

    def text(self, name: str, *, limit: int = 2000) -> str:
        """A text input, stripped ('' when absent); StepInputError for one too long or with control characters."""
        value = self.inputs.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise StepInputError(f"The input `{name}` must be text.")
        value = value.strip()
        if len(value) > limit:
            raise StepInputError(f"The input `{name}` has {len(value)} characters; the limit is {limit}.")
        at = control_character(value)
        if at is not None:
            raise StepInputError(f"The input `{name}` has a control character (U+{ord(value[at]):04X}).")
        return value

    def word(self, name: str) -> str:
        """A one-word input (an id, a duration); StepInputError for one with spaces in it."""
        value = self.text(name, limit=300)
        if any(character.isspace() for character in value):
            raise StepInputError(f"The input `{name}` must be one word (an id or a length), not `{short(value)}`.")
        return value


@dataclass(frozen=True)
class Step:
    """A Workflow Builder step a feature offers."""

    callback_id: str
    title: str
    description: str
    action: Action  # the catalog's row: its role, its space rule, whether it writes
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...]
    run: Callable[[StepRun], Awaitable[dict[str, Any]]]  # acts; returns the outputs
    target: Callable[[Mapping[str, Any]], str] = lambda inputs: ""  # what it acts on, for the audit trail

    def manifest(self) -> dict[str, Any]:
        """Its entry under manifest.json's `functions`."""
        return {
            "title": self.title,
            "description": self.description,
            "input_parameters": {p.name: p.manifest() for p in self.inputs},
            "output_parameters": {p.name: p.manifest() for p in self.outputs},
        }


def run_by(inputs: Mapping[str, Any], body: Mapping[str, Any]) -> Actor:
    """The person in the *Run by* input; StepInputError when it is not a person Workflow Builder named."""
    context = inputs.get(RUN_BY.name)
    user = context.get("id") if isinstance(context, Mapping) else None
    if not isinstance(user, str) or user[:1] not in ("U", "W") or not user.isalnum() or len(user) > 40:
        raise StepInputError(
            f"The step's *{RUN_BY.title}* input must be “Person who used this workflow” (a Slack user like "
            f"{USER_ID_PATTERN}): Kibana ChatOps acts as that person, with their access. Set it in Workflow Builder."
        )
    team = body.get("team_id")
    return Actor(user_id=user, team_id=team if isinstance(team, str) else None, channel_id=None)


def step_space(services: Services, inputs: Mapping[str, Any]) -> str:
    value = inputs.get(SPACE.name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return services.space(None)
    if not isinstance(value, str) or not is_space_id(value.strip()):
        raise StepInputError(
            f"`{short(str(value))}` is not a Kibana space id (lower-case letters, digits, _ and -). "
            "Fix the step's *Kibana space* input in Workflow Builder."
        )
    return services.space(value.strip())


def step_listener(plumbing: Plumbing, step: Step) -> Listener:
    """The Bolt listener of `step` (Bolt acknowledges the event itself)."""
    services, catalog = plumbing.services, plumbing.catalog

    async def on_step(body: dict[str, Any], event: dict[str, Any], complete: AsyncComplete, fail: AsyncFail) -> None:
        services.track_current_task()
        given = event.get("inputs")
        inputs: dict[str, Any] = given if isinstance(given, dict) else {}
        execution = str(event.get("function_execution_id") or "")
        doing = Doing(
            command=services.settings.slack_command,
            explain=catalog.explain,
            action=step.action.name,
            read_only=step.action.read_only,
            space=services.space(None),
            kibana_version=services.profile.current.info.version,
        )
        try:
            actor = run_by(inputs, body)
            space = step_space(services, inputs)
            doing = replace(doing, space=space, rule_id=_text(inputs, "rule_id"), alert_id=_text(inputs, "alert_id"))
            outputs = await _checked_run(
                services, catalog, step, StepRun(services, catalog, actor, space, inputs, execution)
            )
        except StepInputError as error:
            await _end(fail=fail, error=str(error), step=step)
            return
        except (KibanaNotLinked, PersonKeyRejected) as unlinked:
            command = services.settings.slack_command
            sentence = (
                key_rejected(unlinked.key.key_id, command)
                if isinstance(unlinked, PersonKeyRejected)
                else Unlinked().sentence(command)
            )
            await _end(fail=fail, error=sentence, step=step)
            return
        except NothingToDo as nothing:
            await _end(fail=fail, error=str(nothing), step=step)
            return
        except Exception as error:
            await _end(fail=fail, error=describe(error, doing), step=step)
            return
        await _end(complete=complete, outputs=outputs, step=step)

    return on_step


async def _checked_run(services: Services, catalog: Catalog, step: Step, run: StepRun) -> dict[str, Any]:
    action, actor, target = step.action, run.actor, step.target(run.inputs)
    with as_person(services, actor, None):  # no Kibana call before the person's key is found
        if not action.read_only:
            await ensure_writable(services, actor, action, target)
        refusal = await check_access(
            services, actor, action, target, space=run.space, detail=f"step {step.callback_id}"
        )
        if refusal is not None:
            raise StepInputError(refusal.message())
        key = await person_key(services, actor, action)
        if isinstance(key, Unlinked):
            detail = "no usable Kibana API key linked (KIBANA_IDENTITY=person); nothing was sent to Kibana"
            await record(services, actor, action.name, target, result="refused", detail=detail, space=run.space)
            raise StepInputError(key.sentence(services.settings.slack_command))
    with as_person(services, actor, key):
        return await step.run(run)


async def _end(
    *,
    step: Step,
    complete: AsyncComplete | None = None,
    outputs: dict[str, Any] | None = None,
    fail: AsyncFail | None = None,
    error: str = "",
) -> None:
    """Tell Slack how the step ended; a refusal of that is logged (Workflow Builder then shows the step as failed)."""
    try:
        if complete is not None:
            await complete(outputs=outputs or {})
        elif fail is not None:
            await fail(error=error)
    except Exception:
        log.exception("could not tell Slack how workflow step %s ended", step.callback_id)


def _text(inputs: Mapping[str, Any], name: str) -> str | None:
    value = inputs.get(name)
    return value if isinstance(value, str) and value else None
