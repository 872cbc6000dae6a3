"""Workflow Builder custom steps (functions), as Slack runs an app's Bolt steps.

What Slack does (docs.slack.dev: "Custom steps", the `function_executed` event, `functions.completeSuccess`
and `functions.completeError`):

- The app declares each step under manifest.json's `functions` (title, description, typed
  `input_parameters` and `output_parameters`, keyed by name); the fake reads them from there.
- When a workflow reaches the step, Slack sends a `function_executed` event with the step's
  definition, its `inputs`, a `function_execution_id` and a `bot_access_token`: a token for this
  execution, with the app's bot scopes, that Bolt uses for the listener's calls (`complete()`, `fail()`).
- `functions.completeSuccess` (`function_execution_id`, `outputs`) and `functions.completeError`
  (`function_execution_id`, `error`) end it; no scope needed, Tier 3. An unknown execution is
  `function_execution_not_found`; one already ended is `execution_not_in_running_state`; outputs that
  do not match the output parameters (a required one missing, a value of the wrong type) are
  `parameter_validation_failed`. The execution's token is not valid once it has ended
  (`token_expired` here).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from devkit.fake_slack.records import SlackApiFailure
from devkit.fake_slack.scopes import MANIFEST
from devkit.fake_slack.web_api import json_argument, required

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack

State = Literal["running", "completed", "failed"]
USER_CONTEXT = "slack#/types/user_context"


def manifest_functions(path: Path = MANIFEST) -> dict[str, dict[str, Any]]:
    """manifest.json's `functions`, by callback id (none: {})."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    functions = manifest.get("functions") or {}
    return {str(name): dict(definition) for name, definition in functions.items()}


@dataclass
class Execution:
    """One run of a step in a workflow."""

    id: str
    callback_id: str
    inputs: dict[str, Any]
    token: str
    workflow_execution_id: str
    state: State = "running"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    calls: list[str] = field(default_factory=list)  # Web API methods called with its token

    def __repr__(self) -> str:  # the token stays out of reprs
        return f"Execution({self.id!r}, {self.callback_id!r}, state={self.state!r})"


def _type_ok(kind: str, value: Any) -> bool:
    """Whether `value` fits a parameter type (the primitive types; Slack's own ids as strings)."""
    if kind == "string" or kind in ("slack#/types/user_id", "slack#/types/channel_id", "slack#/types/usergroup_id"):
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "slack#/types/timestamp"):  # a timestamp: Unix seconds
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == USER_CONTEXT:
        return isinstance(value, dict) and isinstance(value.get("id"), str)
    return True  # object, array and Slack's other types: not checked here


def check_parameters(params: Mapping[str, Any], values: Mapping[str, Any], what: str) -> list[str]:
    """What is wrong with `values` against declared parameters: missing required ones, wrong types, unknown names."""
    problems = [
        f"{what} `{name}` is required" for name, p in params.items() if p.get("is_required") and name not in values
    ]
    for name, value in values.items():
        declared = params.get(name)
        if declared is None:
            problems.append(f"{what} `{name}` is not declared")
        elif not _type_ok(str(declared.get("type")), value):
            problems.append(f"{what} `{name}` is not of type {declared.get('type')}")
    return problems


class Functions:
    """The app's steps (from its manifest) and their executions."""

    def __init__(self, definitions: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.definitions: dict[str, dict[str, Any]] = dict(manifest_functions() if definitions is None else definitions)
        self.executions: dict[str, Execution] = {}
        self._by_token: dict[str, Execution] = {}

    def start(self, callback_id: str, inputs: Mapping[str, Any]) -> Execution:
        """A workflow reaches the step: a new running execution (ValueError for a step or inputs the
        manifest does not declare, which Workflow Builder would never let a workflow be saved with)."""
        definition = self.definitions.get(callback_id)
        if definition is None:
            raise ValueError(f"the manifest declares no step {callback_id!r}")
        problems = check_parameters(definition.get("input_parameters") or {}, inputs, "input")
        if problems:
            raise ValueError("; ".join(problems))
        execution = Execution(
            id=f"Fx{secrets.token_hex(5).upper()}",
            callback_id=callback_id,
            inputs=dict(inputs),
            token=f"xwfp-{secrets.token_hex(12)}",
            workflow_execution_id=f"Wx{secrets.token_hex(5).upper()}",
        )
        self.executions[execution.id] = execution
        self._by_token[execution.token] = execution
        return execution

    def by_token(self, token: str) -> Execution | None:
        return self._by_token.get(token)

    def running(self, execution_id: str) -> Execution:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise SlackApiFailure("function_execution_not_found")
        if execution.state != "running":
            raise SlackApiFailure("execution_not_in_running_state")
        return execution


async def complete_success(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "function_execution_id")
    if "outputs" not in params:
        raise SlackApiFailure("invalid_arguments", messages=["[ERROR] missing required field: outputs"])
    outputs = json_argument(params, "outputs", "invalid_arguments")
    if not isinstance(outputs, dict):
        raise SlackApiFailure("invalid_arguments", messages=["[ERROR] outputs must be an object"])
    execution = fake.functions.running(str(params["function_execution_id"]))
    declared = fake.functions.definitions[execution.callback_id].get("output_parameters") or {}
    problems = check_parameters(declared, outputs, "output")
    if problems:
        raise SlackApiFailure("parameter_validation_failed", messages=[f"[ERROR] {p}" for p in problems])
    execution.state, execution.outputs = "completed", outputs
    return {"ok": True}


async def complete_error(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "function_execution_id", "error")
    execution = fake.functions.running(str(params["function_execution_id"]))
    execution.state, execution.error = "failed", str(params["error"])
    return {"ok": True}


METHODS = {"functions.completeSuccess": complete_success, "functions.completeError": complete_error}
