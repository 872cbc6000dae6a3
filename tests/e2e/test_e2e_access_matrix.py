"""The authorization matrix: every action × every role × every entry path that action has.

Each role gets its own policy file (`default_role = <role>`, Alice stays admin to set things
up); Bob, a plain member, then acts through a slash command, a button, the shortcut, a modal
submission or a Workflow Builder step (which fails with the refusal). Allowed actions must reach
Kibana (or, for actions that never call Kibana, have their effect); refused ones must reach nothing
and tell Bob which role they need.

`PATHS` maps every action of the action catalog to its entry paths: adding an action without a
policy entry and a path here fails `test_every_action_has_an_entry_path`.

Space grants (`test_space_grants`): Bob is admin through a grant that names the space every path acts
in (`default`), another space (`ops`), or no space; the default role is `none`. What acts in a space
needs a grant for it; APM (Kibana-wide) a grant without spaces; the bot's own answers any grant.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Any

import httpx
import pytest

from bot.access import Role, Scope
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers import build_catalog
from handlers.alerting.actions import MUTE_STEP, SNOOZE_STEP
from handlers.alerting.buttons import mute_menu, snooze_menu
from handlers.alerting.reminders import EndingRef, reminder_blocks
from handlers.alerting.target import Target
from handlers.alerts.claim import ALERT_CLAIM, ALERT_RELEASE, ClaimValue
from handlers.apm.actions import CONFIG_OVERWRITE, SOURCEMAP_DELETE
from handlers.apm.values import ConfigChange, SourceMapRef
from handlers.cases.actions import CARD_SEVERITY, CARD_STATUS, CARD_SYNC, CARD_UNSYNC, OPEN_CASE_STEP
from handlers.cases.card import CardValue
from handlers.cases.linking import link_case
from handlers.health.actions import HEALTH_STEP
from handlers.home.actions import HOME_REFRESH, RefreshButton
from handlers.shared.blocks import actions, button
from handlers.shared.catalog import CONNECT_BUTTON
from handlers.shared.identity import ConnectButton
from handlers.shared.replies import Replies

from . import action_ids as values
from .conftest import KIBANA_KEY, make_settings
from .test_e2e_alerts_webhook import BODY, deliver

_CATALOG = build_catalog()
BY_ACTION_ID, ACTIONS = _CATALOG.by_action_id, _CATALOG.roles

BOB = "U0BOB0001"
RULE = "/api/alerting/rule/{id}"
AGENT_CONFIG = "/api/apm/settings/agent-configuration"
SOURCEMAPS = "/api/apm/sourcemaps"
TARGET = Target(rule_id="r1", space="default", alert_id="host-1")
ATTACH_TARGET = Target(rule_id="r1", space="default", alert_id="host-1", alert_uuid="uuid-host-1")
COMMENTS = "/api/cases/{caseId}/comments"
VALID_MAP = {"version": 3, "file": "main.js", "sources": ["src/index.ts"], "names": [], "mappings": "AAAA;AACA"}
REFUSAL = "You need the *"


def refusal_for(env: Env) -> str:
    """The refusal of the action under test (can-i's answer may quote another action's refusal)."""
    return f"You need the *{env.needed}* role"


@dataclass
class Env:
    driver: SlackDriver
    slack: FakeSlack
    kibana: FakeKibana
    bot: RunningBot
    data: dict[str, Any] = field(default_factory=dict)
    kibana_mark: int = 0
    responses_mark: int = 0
    views_mark: int = 0
    answer: httpx.Response | None = None
    needed: Role = Role.NONE

    def mark(self) -> None:
        self.kibana_mark = len(self.kibana.requests)
        self.responses_mark = len(self.slack.responses)
        self.views_mark = len(self._view_calls())

    def kibana_since(self) -> list[Any]:
        return self.kibana.requests[self.kibana_mark :]

    def called(self, method: str, route: str) -> bool:
        return any((r.method, r.route) == (method, route) for r in self.kibana_since())

    def replies(self) -> list[str]:
        """What Bob was told: through response_urls, and by a Workflow Builder step's failure."""
        told = [json.dumps(r.body) for r in self.slack.responses[self.responses_mark :]]
        return told + [e.error for e in self.steps() if e.error]

    def steps(self) -> list[Any]:
        executions = self.slack.functions.executions
        return [executions[i] for i in self.data.get("executions", [])]

    def _view_calls(self) -> list[Any]:
        return [c for c in self.slack.calls if c.method in ("views.open", "views.update")]

    def views(self) -> list[str]:
        return [json.dumps(c.params) for c in self._view_calls()[self.views_mark :]]

    def ack_errors(self) -> str:
        if self.answer is None or not self.answer.content:
            return ""
        return json.dumps(self.answer.json().get("errors", {}))


Check = Callable[[Env], Any]
Step = Callable[[Env], Awaitable[None]]


@dataclass(frozen=True)
class EntryPath:
    kind: str  # command | button | shortcut | modal | step
    name: str
    act: Step  # what Bob does
    reached: Check  # the effect of an allowed action (polled)
    refused: Check  # the refusal Bob sees (polled)
    setup: Step | None = None  # what Alice (admin) prepares first


# ---- what Bob does ------------------------------------------------------------------------


def command(text: str) -> Step:
    async def act(env: Env) -> None:
        env.answer = await env.driver.post(env.driver.slash_command(text, user_id=BOB))
        assert env.answer.status_code == 200

    return act


def rule_buttons_message() -> dict[str, Any]:
    target = TARGET.pack()
    rule_target = Target(rule_id="r1", space="default").pack()
    return {
        "type": "message",
        "ts": "1700000000.000100",
        "text": "CPU high",
        "blocks": [
            actions(
                button("Mute", values.ALERT_MUTE, target),
                button("Unmute", values.ALERT_UNMUTE, target),
                button("Mute all", values.RULE_MUTE_ALL, rule_target),
                button("Unmute all", values.RULE_UNMUTE_ALL, rule_target),
                button("Disable", values.RULE_DISABLE, rule_target),
                button("Enable", values.RULE_ENABLE, rule_target),
                button("Unsnooze", values.RULE_UNSNOOZE, rule_target),
                button("Details", values.RULE_SHOW, rule_target),
                button("Open case", values.CASE_OPEN, target),
                button("Add to case…", values.CASE_ATTACH, ATTACH_TARGET.pack()),
                snooze_menu(Target(rule_id="r1", space="default")),
                mute_menu(TARGET),
                block_id="rule_actions",
            )
        ],
    }


def click(action_id: str, value: str | None = None) -> Step:
    async def act(env: Env) -> None:
        message = env.data.get("message") or rule_buttons_message()
        payload = env.driver.block_action(action_id, value, message=message, user_id=BOB, is_ephemeral=True)
        env.answer = await env.driver.post(payload)
        assert env.answer.status_code == 200

    return act


def apm_click(action_id: str, value: Callable[[Env], str]) -> Step:
    async def act(env: Env) -> None:
        message = {
            "type": "message",
            "ts": "1700000000.000200",
            "text": "apm",
            "blocks": [actions(button("Go", action_id, value(env)), block_id="apm")],
        }
        payload = env.driver.block_action(action_id, value(env), message=message, user_id=BOB, is_ephemeral=True)
        env.answer = await env.driver.post(payload)
        assert env.answer.status_code == 200

    return act


def run_step(callback_id: str, inputs: dict[str, Any]) -> Step:
    """Bob runs a workflow with the bot's step `callback_id` (Workflow Builder names him in *Run by*)."""

    async def act(env: Env) -> None:
        payload = env.driver.function_executed(callback_id, inputs, run_by=BOB)
        env.data.setdefault("executions", []).append(payload["event"]["function_execution_id"])
        env.answer = await env.driver.post(payload)
        assert env.answer.status_code == 200

    return act


SHORTCUT_MESSAGE = {
    "type": "message",
    "ts": "1700000000.000300",
    "user": "U0CAROL",
    "text": "Checkout is slow\nsince 10:40",
}


async def shortcut(env: Env) -> None:
    env.answer = await env.driver.post(env.driver.message_shortcut("open_case", SHORTCUT_MESSAGE, user_id=BOB))
    assert env.answer.status_code == 200


async def add_shortcut(env: Env) -> None:
    env.answer = await env.driver.post(env.driver.message_shortcut("add_to_case", SHORTCUT_MESSAGE, user_id=BOB))
    assert env.answer.status_code == 200


def submit(form: Callable[[Env], dict[str, Any]] = lambda env: {}) -> Step:
    async def act(env: Env) -> None:
        env.answer = await env.driver.post(env.driver.view_submission(env.data["view"], form(env), user_id=BOB))
        assert env.answer.status_code == 200

    return act


# ---- what Alice prepares ----------------------------------------------------------------------


async def alice(env: Env, text: str) -> None:
    answer = await env.driver.post(env.driver.slash_command(text))
    assert answer.status_code == 200


def snoozed(env: Env) -> Awaitable[None]:
    async def run() -> None:
        await alice(env, "snooze r1 1h")
        await env.slack.wait_for(lambda: env.kibana.count("POST", RULE + "/snooze_schedule") == 1)
        await env.slack.wait_for(lambda: env.slack.responses)

    return run()


async def timed_mute(env: Env) -> None:
    """Alice mutes host-1 for an hour; the reminder's buttons name that mute."""
    await alice(env, "mute r1 host-1 for 1h")
    store = env.bot.runtime.services.store
    for _ in range(250):
        rows = await store.active_timed_mutes()
        if rows and env.slack.responses:
            env.data["ref"], env.data["end"] = EndingRef(kind="m", row=rows[0].id), rows[0].ends_at
            return
        await asyncio.sleep(0.02)
    raise AssertionError("Alice's timed mute was not made")


async def snoozed_row(env: Env) -> None:
    """Alice snoozes r1 for an hour; the reminder's buttons name that snooze."""
    await snoozed(env)
    [row] = await env.bot.runtime.services.store.active_snoozes(datetime.now(UTC))
    env.data["ref"] = EndingRef(kind="s", row=row.id)


def reminder_click(action_id: str) -> Step:
    """Bob presses a button of the reminder (in the channel it was told in)."""

    async def act(env: Env) -> None:
        ref: EndingRef = env.data["ref"]
        blocks = reminder_blocks("<@U0ALICE> The mute ends in 15 min.", ref, snooze=ref.kind == "s")
        message = {"type": "message", "ts": "1700000000.000400", "text": "reminder", "blocks": blocks}
        payload = env.driver.block_action(action_id, ref.pack(), message=message, user_id=BOB)
        env.answer = await env.driver.post(payload)
        assert env.answer.status_code == 200

    return act


def told(text: str) -> Check:
    return lambda env: any(text in c.params.get("text", "") for c in env.slack.calls_to("chat.postMessage"))


async def mute_moved(env: Env) -> bool:
    rows = await env.bot.runtime.services.store.active_timed_mutes()
    return bool(rows) and rows[0].ends_at > env.data["end"]


def reminder_button(action_id: str, reached: Check, setup: Step) -> EntryPath:
    return EntryPath("button", action_id, reminder_click(action_id), reached, REPLY_REFUSAL, setup)


async def subscribed(env: Env) -> None:
    await alice(env, "health subscribe every 1h")
    store = env.bot.runtime.services.store
    for _ in range(200):
        if await store.list_subscriptions() and env.slack.responses:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("Alice's subscription was not made")


async def alert_subscribed(env: Env) -> None:
    store = env.bot.runtime.services.store
    await store.add_alert_subscription(
        channel=env.driver.channel_id, space="default", kind="all", value="", created_by="U0ALICE"
    )


async def window_started(env: Env) -> None:
    """Alice starts a maintenance window (Kibana 9.3, Platinum, as the fake plays by default)."""
    await alice(env, "mw start 1h --title Deploy")
    for _ in range(200):
        if env.kibana.state.maintenance_windows:
            [(_, window_id)] = env.kibana.state.maintenance_windows
            env.data["window"] = window_id
            return
        await asyncio.sleep(0.02)
    raise AssertionError("Alice's maintenance window was not made")


def end_window(env: Env) -> Awaitable[None]:
    return command(f"mw end {env.data['window']}")(env)


async def sourcemap(env: Env) -> None:
    artifact = env.kibana.add_sourcemap(service_name="frontend", service_version="1.0.0", bundle_filepath="/a.js")
    env.data["sourcemap"] = artifact["id"]


def modal_opened_by(text: str, *, filled: bool = False) -> Step:
    """Alice runs a command that opens a modal; Bob will submit it."""

    async def setup(env: Env) -> None:
        opened = len(env.slack.calls_to("views.open"))
        updated = len(env.slack.calls_to("views.update"))
        await alice(env, text)
        [call] = (await env.slack.wait_for("views.open", count=opened + 1))[opened:]
        if filled:  # the disable modal reads the rule after opening
            await env.slack.wait_for("views.update", count=updated + 1)
        env.data["view"] = env.slack.views[call.response["view"]["id"]]
        if "upload" in text:
            env.data["file"] = env.slack.add_file("main.js.map", json.dumps(VALID_MAP).encode(), "application/json")

    return setup


async def case_menu_form(env: Env, payload: dict[str, Any]) -> None:
    """Alice opens a form with the case menu (*Add to case…*, or the add_to_case shortcut); Bob will
    submit it with a case of Kibana chosen."""
    env.data["case"] = env.kibana.add_case(title="Checkout is slow")["id"]
    updated = len(env.slack.calls_to("views.update"))
    assert (await env.driver.post(payload)).status_code == 200
    [call] = (await env.slack.wait_for("views.update", count=updated + 1))[updated:]
    env.data["view"] = env.slack.views[call.params["view_id"]]


async def attach_form(env: Env) -> None:
    message = rule_buttons_message()
    payload = env.driver.block_action(values.CASE_ATTACH, ATTACH_TARGET.pack(), message=message, is_ephemeral=True)
    await case_menu_form(env, payload)


async def add_form(env: Env) -> None:
    await case_menu_form(env, env.driver.message_shortcut("add_to_case", SHORTCUT_MESSAGE))


def chosen_case(env: Env) -> dict[str, Any]:
    return {"case_pick": {"case_pick": env.data["case"]}}


async def snooze_modal(env: Env) -> None:
    opened = len(env.slack.calls_to("views.open"))
    custom = Target(rule_id="r1", space="default", option="custom").pack()
    payload = env.driver.block_action(values.RULE_SNOOZE, custom, message=rule_buttons_message(), is_ephemeral=True)
    assert (await env.driver.post(payload)).status_code == 200
    [call] = (await env.slack.wait_for("views.open", count=opened + 1))[opened:]
    env.data["view"] = env.slack.views[call.response["view"]["id"]]


async def linked_case(env: Env) -> None:
    """A case linked to a message's thread, with its card there (as opening it from Slack leaves it)."""
    none = {"id": "none", "name": "none", "type": ".none", "fields": None}
    body = {"title": "Checkout slow", "description": "d", "tags": [], "owner": "cases", "connector": none,
            "settings": {"syncAlerts": True}}  # fmt: skip
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            env.kibana.url + "/api/cases", json=body, headers={"Authorization": f"ApiKey {KIBANA_KEY}", "kbn-xsrf": "t"}
        )
    services = env.bot.runtime.services
    message = env.slack.post_as_user(env.driver.channel_id, "Checkout is slow", user="U0CAROL")
    replies = Replies(services.slack, None, services.bot_user)
    linked = await link_case(
        services, replies, "T0001", env.driver.channel_id, message["ts"], answer.json()["id"], "default", "cases"
    )
    env.data["link"] = linked.link.id
    [card] = [m for m in env.slack.thread(env.driver.channel_id, message["ts"]) if "case_card" in str(m.get("blocks"))]
    env.data["card"] = card


async def synced_case(env: Env) -> None:
    """A linked case whose thread Alice (admin) synced with the card's button."""
    await linked_case(env)
    value = CardValue(link=env.data["link"]).pack()
    payload = env.driver.block_action(CARD_SYNC, value, message=env.data["card"])
    assert (await env.driver.post(payload)).status_code == 200
    channel, ts = env.driver.channel_id, env.data["card"]["ts"]
    await env.slack.wait_for(lambda: CARD_UNSYNC in str((env.slack.message(channel, ts) or {}).get("blocks")))
    env.data["card"] = env.slack.message(channel, ts)


def card_click(action_id: str, to: str = "") -> Step:
    async def act(env: Env) -> None:
        value = CardValue(link=env.data["link"], to=to).pack()
        payload = env.driver.block_action(action_id, value, message=env.data["card"], user_id=BOB)
        env.answer = await env.driver.post(payload)
        assert env.answer.status_code == 200

    return act


def thread_synced(on: bool) -> Check:
    async def check(env: Env) -> bool:
        link = await env.bot.runtime.services.store.case_link(env.data["link"])
        return link is not None and link.syncing is on

    return check


def card(action_id: str, reached: Check, setup: Step, to: str = "") -> EntryPath:
    return EntryPath("button", action_id, card_click(action_id, to), reached, REPLY_REFUSAL, setup)


def upload_form(env: Env) -> dict[str, Any]:
    given = {"service_name": "frontend", "service_version": "1.4.2", "bundle_filepath": "/static/js/main.js"}
    form: dict[str, dict[str, Any]] = {name: {"value": value} for name, value in given.items()}
    form["file_block"] = {"sourcemap_file": {"type": "file_input", "files": [env.data["file"]]}}
    return form


# ---- what counts as reached / refused -----------------------------------------------------------


def kibana(method: str, route: str) -> Check:
    return lambda env: env.called(method, route)


def reply_refusal(env: Env) -> bool:
    return any(refusal_for(env) in r for r in env.replies())


def reply_without_refusal(text: str) -> Check:
    return lambda env: any(text in r and refusal_for(env) not in r for r in env.replies())


def view_shown(text: str) -> Check:
    return lambda env: any(text in v and REFUSAL not in v for v in env.views())


def view_has_refusal(env: Env) -> bool:
    return any(refusal_for(env) in v for v in env.views())


def case_form_filled(env: Env) -> bool:
    """The case form was filled in after the access check (a refusal replaces it with a notice)."""
    updates = [json.dumps(c.params) for c in env.slack.calls_to("views.update")]
    return any('"block_id": "title"' in u and REFUSAL not in u for u in updates)


def case_menu_ready(env: Env) -> bool:
    """A form with the case menu was made ready after the access check (a refusal replaces it with a notice)."""
    updates = [json.dumps(c.params) for c in env.slack.calls_to("views.update")]
    return any('"action_id": "case_pick"' in u and REFUSAL not in u for u in updates)


def ack_refusal(env: Env) -> bool:
    return refusal_for(env) in env.ack_errors()


def store_check(predicate: Callable[[Any], Awaitable[bool]]) -> Check:
    async def check(env: Env) -> bool:
        return await predicate(env.bot.runtime.services.store)

    return check


async def has_subscription(store: Any) -> bool:
    return bool(await store.list_subscriptions())


async def no_subscription(store: Any) -> bool:
    return not await store.list_subscriptions()


async def no_alert_subscription(store: Any) -> bool:
    return not await store.list_alert_subscriptions()


async def bob_in_workspace(env: Env) -> None:
    """Bob as a member of the workspace (views.publish answers `invalid_arguments` for anyone else)."""
    env.slack.add_user(BOB, "bob")


def home_published(env: Env) -> bool:
    """Bob's Home tab was drawn (views.publish for him), and he was told so (a command, or a click on a message)."""
    published = any(c.ok and c.params.get("user_id") == BOB for c in env.slack.calls_to("views.publish"))
    return published and any("App Home is up to date" in r for r in env.replies())


REPLY_REFUSAL = reply_refusal


def step_refusal(env: Env) -> bool:
    """The step failed with the refusal (fail() with the sentence)."""
    return any(e.state == "failed" and refusal_for(env) in (e.error or "") for e in env.steps())


def step_done(reached: Check) -> Check:
    """The step reached Kibana and completed (complete() with its outputs)."""
    return lambda env: bool(reached(env)) and any(e.state == "completed" for e in env.steps())


def step(callback_id: str, inputs: dict[str, Any], reached: Check) -> EntryPath:
    return EntryPath("step", callback_id, run_step(callback_id, inputs), step_done(reached), step_refusal)


def cmd(text: str, reached: Check, setup: Step | None = None) -> EntryPath:
    return EntryPath("command", text, command(text), reached, REPLY_REFUSAL, setup)


def btn(action_id: str, reached: Check, value: str | None = None, setup: Step | None = None) -> EntryPath:
    return EntryPath("button", action_id, click(action_id, value), reached, REPLY_REFUSAL, setup)


def modal(name: str, setup: Step, reached: Check, form: Callable[[Env], dict[str, Any]] = lambda env: {}) -> EntryPath:
    return EntryPath("modal", name, submit(form), reached, ack_refusal, setup)


def config_change(env: Env) -> str:
    return ConfigChange(service="checkout", settings={"transaction_sample_rate": "0.5"}, space="default").pack()


def sourcemap_ref(env: Env) -> str:
    return SourceMapRef(id=env.data["sourcemap"], space="default", label="frontend 1.0.0").pack()


# ---- I'm on it: on a real alert message in C0ALERTS (a claim needs the message's episode) ----------


async def alert_posted(env: Env) -> None:
    assert (await deliver(env.bot, BODY)).status_code == 200
    env.data["message"] = await env.slack.wait_for(lambda: next(iter(env.slack.channel_messages("C0ALERTS")), None))


async def _group_id(env: Env) -> int:
    group = await env.bot.runtime.services.store.alert_group_at(channel="C0ALERTS", ts=env.data["message"]["ts"])
    assert group is not None
    return group.id


async def bob_on_it(env: Env) -> None:
    """Alice's alert message, which Bob is on: its *Release* button is Bob's to press."""
    await alert_posted(env)
    await env.bot.runtime.services.store.claim_alert_group(await _group_id(env), BOB, shown_holder=None)
    value = ClaimValue(rule_id="r1", space="default", alert_id="host-1", alert_uuid=BODY["alert_uuid"], holder=BOB)
    message = copy.deepcopy(env.data["message"])
    message["blocks"].append(actions(button("Release", ALERT_RELEASE, value.pack()), block_id="alert_claim_now"))
    env.data["message"] = message


def on_message(action_id: str) -> Step:
    async def act(env: Env) -> None:
        message = env.data["message"]
        value = next(
            e["value"] for b in message["blocks"] for e in b.get("elements", []) if e.get("action_id") == action_id
        )
        payload = env.driver.block_action(action_id, value, message=message, user_id=BOB, channel_id="C0ALERTS")
        env.answer = await env.driver.post(payload)
        assert env.answer.status_code == 200

    return act


def in_alerts_channel(text: str) -> Step:
    async def act(env: Env) -> None:
        env.answer = await env.driver.post(env.driver.slash_command(text, user_id=BOB, channel_id="C0ALERTS"))
        assert env.answer.status_code == 200

    return act


def bob_holds(holds: bool) -> Check:
    async def check(env: Env) -> bool:
        claim = await env.bot.runtime.services.store.alert_group_claim(await _group_id(env))
        return (claim is not None and claim.user_id == BOB) is holds

    return check


SNOOZE_1H = Target(rule_id="r1", space="default", option="1h").pack()
MUTE_1H = Target(rule_id="r1", space="default", alert_id="host-1", option="for:1h").pack()
UNSNOOZE = ("DELETE", "/api/alerting/rule/{ruleId}/snooze_schedule/{scheduleId}")

PATHS: dict[str, list[EntryPath]] = {
    "help": [cmd("help", reply_without_refusal("mute <rule_id> <alert_id>"))],
    "health": [
        cmd("health", kibana("GET", "/api/alerting/_health")),
        step(HEALTH_STEP, {}, kibana("GET", "/api/alerting/_health")),
    ],
    "rules": [cmd("rules", kibana("GET", "/api/alerting/rules/_find"))],
    "rule": [cmd("rule r1", kibana("GET", RULE)), btn(values.RULE_SHOW, kibana("GET", RULE))],
    "whoami": [cmd("whoami", reply_without_refusal("Where it comes from"))],
    "home": [
        cmd("home", home_published, bob_in_workspace),
        EntryPath(
            "button",
            HOME_REFRESH,
            apm_click(HOME_REFRESH, lambda env: RefreshButton().pack()),
            home_published,
            REPLY_REFUSAL,
            bob_in_workspace,
        ),
    ],
    # KIBANA_IDENTITY=bot here: connect and disconnect say there is nothing to link (test_e2e_person_identity.py)
    "connect": [
        cmd("connect", reply_without_refusal("its own credential")),
        EntryPath(
            "button",
            CONNECT_BUTTON,
            apm_click(CONNECT_BUTTON, lambda env: ConnectButton().pack()),
            reply_without_refusal("its own credential"),
            REPLY_REFUSAL,
            None,
        ),
    ],
    "disconnect": [cmd("disconnect", reply_without_refusal("its own credential"))],
    "can-i": [cmd("can-i disable", lambda env: any("`disable`" in r for r in env.replies()))],
    "apm config list": [cmd("apm config list", kibana("GET", AGENT_CONFIG))],
    "apm sourcemaps list": [cmd("apm sourcemaps list", kibana("GET", SOURCEMAPS))],
    "mute": [
        cmd("mute r1 host-1", kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute")),
        btn(values.ALERT_MUTE, kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute")),
        btn(values.ALERT_MUTE_FOR, kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"), MUTE_1H),
        reminder_button(values.MUTE_EXTEND, mute_moved, timed_mute),
        reminder_button(values.MUTE_LET_END, told("lets the mute of `host-1` end"), timed_mute),
        step(
            MUTE_STEP,
            {"rule_id": "r1", "alert_id": "host-1"},
            kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"),
        ),
    ],
    "claim": [
        EntryPath("command", "claim r1", in_alerts_channel("claim r1"), bob_holds(True), REPLY_REFUSAL, alert_posted),
        EntryPath("button", ALERT_CLAIM, on_message(ALERT_CLAIM), bob_holds(True), REPLY_REFUSAL, alert_posted),
    ],
    "release": [
        EntryPath("command", "release r1", in_alerts_channel("release r1"), bob_holds(False), REPLY_REFUSAL, bob_on_it),
        EntryPath("button", ALERT_RELEASE, on_message(ALERT_RELEASE), bob_holds(False), REPLY_REFUSAL, bob_on_it),
    ],
    "unmute": [
        cmd("unmute r1 host-1", kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute")),
        btn(values.ALERT_UNMUTE, kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute")),
        reminder_button(
            values.MUTE_END_NOW, kibana("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute"), timed_mute
        ),
    ],
    "snooze": [
        cmd("snooze r1 4h", kibana("POST", RULE + "/snooze_schedule")),
        btn(values.RULE_SNOOZE, kibana("POST", RULE + "/snooze_schedule"), SNOOZE_1H),
        modal(
            "snooze modal",
            snooze_modal,
            kibana("POST", RULE + "/snooze_schedule"),
            lambda env: {"duration": {"duration": "2h"}},
        ),
        reminder_button(values.SNOOZE_EXTEND, kibana("POST", RULE + "/snooze_schedule"), snoozed_row),
        reminder_button(values.SNOOZE_LET_END, told("lets the snooze of rule `r1` end"), snoozed_row),
        step(SNOOZE_STEP, {"rule_id": "r1", "duration": "4h"}, kibana("POST", RULE + "/snooze_schedule")),
    ],
    "unsnooze": [
        cmd("unsnooze r1", kibana(*UNSNOOZE), snoozed),
        btn(values.RULE_UNSNOOZE, kibana(*UNSNOOZE), setup=snoozed),
        reminder_button(values.SNOOZE_END_NOW, kibana(*UNSNOOZE), snoozed_row),
    ],
    "case": [
        cmd("case Disk full", view_shown("case_create_modal")),
        EntryPath(
            "button", values.CASE_OPEN, click(values.CASE_OPEN, TARGET.pack()), kibana("GET", RULE), view_has_refusal
        ),
        EntryPath("shortcut", "open_case", shortcut, case_form_filled, view_has_refusal),
        modal("case modal", modal_opened_by("case Disk full"), kibana("POST", "/api/cases")),
        step(OPEN_CASE_STEP, {"title": "Disk full"}, kibana("POST", "/api/cases")),
    ],
    "attach": [
        cmd("attach", reply_without_refusal("Add to case")),
        EntryPath(
            "button",
            values.CASE_ATTACH,
            click(values.CASE_ATTACH, ATTACH_TARGET.pack()),
            case_menu_ready,
            view_has_refusal,
        ),
        modal("attach modal", attach_form, kibana("POST", COMMENTS), chosen_case),
    ],
    "add": [
        cmd("add", reply_without_refusal("Add to Kibana case")),
        EntryPath("shortcut", "add_to_case", add_shortcut, case_menu_ready, view_has_refusal),
        modal("add modal", add_form, kibana("POST", COMMENTS), chosen_case),
    ],
    "case status": [
        cmd("case status", reply_without_refusal("is done on the case's card")),
        card(CARD_STATUS, kibana("PATCH", "/api/cases"), linked_case, "closed"),
        card(CARD_SEVERITY, kibana("PATCH", "/api/cases"), linked_case, "high"),
    ],
    "case sync": [
        cmd("case sync", reply_without_refusal("is done on the case's card")),
        card(CARD_SYNC, thread_synced(True), linked_case),
        card(CARD_UNSYNC, thread_synced(False), synced_case),
    ],
    "disable": [
        cmd("disable r1", kibana("GET", RULE)),
        btn(values.RULE_DISABLE, kibana("GET", RULE)),
        modal("disable modal", modal_opened_by("disable r1", filled=True), kibana("POST", RULE + "/_disable")),
    ],
    "enable": [
        cmd("enable r1", kibana("POST", RULE + "/_enable")),
        btn(values.RULE_ENABLE, kibana("POST", RULE + "/_enable")),
    ],
    "mute-all": [
        cmd("mute-all r1", kibana("GET", RULE)),
        btn(values.RULE_MUTE_ALL, kibana("POST", RULE + "/_mute_all")),
    ],
    "unmute-all": [
        cmd("unmute-all r1", kibana("POST", RULE + "/_unmute_all")),
        btn(values.RULE_UNMUTE_ALL, kibana("POST", RULE + "/_unmute_all")),
    ],
    "health subscribe": [cmd("health subscribe every 1h", store_check(has_subscription))],
    "health unsubscribe": [cmd("health unsubscribe all", store_check(no_subscription), subscribed)],
    "health subscriptions": [
        cmd("health subscriptions", reply_without_refusal("health-report subscription"), subscribed)
    ],
    # Without ELASTICSEARCH_URL (as here) subscribing is answered with what is missing, after the access check.
    "alerts subscribe": [cmd("alerts subscribe --all", reply_without_refusal("ELASTICSEARCH_URL"))],
    "alerts unsubscribe": [cmd("alerts unsubscribe all", store_check(no_alert_subscription), alert_subscribed)],
    "alerts subscriptions": [
        cmd("alerts subscriptions", reply_without_refusal("alert subscription"), alert_subscribed)
    ],
    "audit": [cmd("audit", reply_without_refusal("udit trail"))],
    "mw start": [cmd("mw start 2h --title Deploy --tag web", kibana("POST", "/api/maintenance_window"))],
    "mw list": [cmd("mw list", kibana("GET", "/api/maintenance_window/_find"))],
    "mw end": [
        EntryPath(
            "command",
            "mw end <id>",
            end_window,
            kibana("POST", "/api/maintenance_window/{id}/_archive"),
            REPLY_REFUSAL,
            window_started,
        )
    ],
    "apm config set": [
        cmd("apm config set checkout transaction_sample_rate=0.5", kibana("PUT", AGENT_CONFIG)),
        EntryPath(
            "button",
            CONFIG_OVERWRITE,
            apm_click(CONFIG_OVERWRITE, config_change),
            kibana("PUT", AGENT_CONFIG),
            REPLY_REFUSAL,
        ),
    ],
    "apm key create": [cmd("apm key create ci-key event:write", kibana("POST", "/api/apm/agent_keys"))],
    "apm sourcemaps upload": [
        cmd("apm sourcemaps upload", view_shown("apm_sourcemap_upload")),
        modal("apm upload modal", modal_opened_by("apm sourcemaps upload"), kibana("POST", SOURCEMAPS), upload_form),
    ],
    "apm sourcemaps delete": [
        EntryPath(
            "command",
            "apm sourcemaps delete <id>",
            lambda env: command(f"apm sourcemaps delete {env.data['sourcemap']}")(env),
            kibana("DELETE", SOURCEMAPS + "/{id}"),
            REPLY_REFUSAL,
            sourcemap,
        ),
        EntryPath(
            "button",
            SOURCEMAP_DELETE,
            apm_click(SOURCEMAP_DELETE, sourcemap_ref),
            kibana("DELETE", SOURCEMAPS + "/{id}"),
            REPLY_REFUSAL,
            sourcemap,
        ),
    ],
}

# The buttons and menus that perform an action, as the catalog says.
BUTTON_ACTIONS = {action_id: action.name for action_id, action in BY_ACTION_ID.items()}

ROLES = [Role.NONE, Role.VIEWER, Role.RESPONDER, Role.OPERATOR, Role.ADMIN]
CASES = [
    pytest.param(role, action, path, id=f"{role}-{path.kind}-{path.name}")
    for action in ACTIONS
    for path in PATHS.get(action, [])
    for role in ROLES
]


def test_every_action_has_an_entry_path() -> None:
    assert set(PATHS) == set(ACTIONS), "every access-policy action needs entry paths in this matrix (and vice versa)"
    assert all(PATHS[action] for action in ACTIONS)
    every_command = {action for action, paths in PATHS.items() for p in paths if p.kind == "command"}
    assert every_command == set(ACTIONS)  # every action can be typed


def test_every_button_is_in_the_matrix() -> None:
    buttons = {p.name for paths in PATHS.values() for p in paths if p.kind == "button"}
    assert set(BUTTON_ACTIONS) | {values.CASE_OPEN, CONFIG_OVERWRITE, SOURCEMAP_DELETE} <= buttons
    for action_id, action in BUTTON_ACTIONS.items():
        assert action_id in {p.name for p in PATHS[action]}


def test_every_workflow_step_is_in_the_matrix() -> None:
    steps = {p.name: action for action, paths in PATHS.items() for p in paths if p.kind == "step"}
    assert steps == {callback_id: action.name for callback_id, action in _CATALOG.by_step.items()}


ALICE_ADMIN = '\n[[grants]]\nrole = "admin"\nusers = ["U0ALICE"]\n'

# Bob's admin grant names the space the paths act in, another one, or none; nothing else gives him a role.
SPACE_GRANTS = {
    "allowed space": 'spaces = ["default"]\n',
    "other space": 'spaces = ["ops"]\n',
    "no spaces key": "",
}
# Their command is about the bot's records (the channel's subscriptions), but each record is in a space.
RECORD_IN_SPACE = {"alerts unsubscribe", "health unsubscribe"}


def allowed_with(grant: str, action: str) -> bool:
    scope = _CATALOG.action(action).scope
    if grant == "no spaces key":
        return True
    if grant == "allowed space":
        return scope is not Scope.DEPLOYMENT
    return scope is Scope.BOT and action not in RECORD_IN_SPACE


SPACE_CASES = [
    pytest.param(
        f'default_role = "none"\n{ALICE_ADMIN}\n[[grants]]\nrole = "admin"\nusers = ["{BOB}"]\n{spaces}',
        grant,
        action,
        path,
        id=f"{grant}-{path.kind}-{path.name}",
    )
    for action in ACTIONS
    for path in PATHS.get(action, [])
    for grant, spaces in SPACE_GRANTS.items()
]


@pytest.fixture
def policy_text(role: Role) -> str:
    return f'default_role = "{role}"\n{ALICE_ADMIN}'


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: FilePath, policy_text: str) -> Settings:
    policy = tmp_path / "matrix-policy.toml"  # make_settings writes its own policy.toml
    policy.write_text(policy_text)
    # the agent-key user beside the API key, so that `apm key create` reaches Kibana when allowed
    return make_settings(
        kibana,
        slack,
        tmp_path,
        access_policy=policy,
        kibana_agent_key_username="elastic",
        kibana_agent_key_password="changeme",
    )


async def poll(env: Env, check: Check, what: str) -> None:
    for _ in range(250):
        result = check(env)
        if hasattr(result, "__await__"):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    sent = [(r.method, r.route) for r in env.kibana_since()]
    seen = f"replies {env.replies()[-2:]}, views {env.views()[-1:]}, ack {env.ack_errors()}"
    raise AssertionError(f"timed out waiting for {what}; Kibana got {sent}; {seen}")


@pytest.mark.parametrize(("role", "action", "path"), CASES)
async def test_matrix(
    role: Role, action: str, path: EntryPath, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    env = Env(driver=driver, slack=slack, kibana=kibana, bot=bot, needed=ACTIONS[action])
    if path.setup is not None:
        await path.setup(env)
    env.mark()
    await path.act(env)
    if role >= ACTIONS[action]:
        await poll(env, path.reached, "the allowed action's effect")
        assert not path.refused(env), "an allowed action was refused"
    else:
        await poll(env, path.refused, "the refusal")
        assert f"You need the *{ACTIONS[action]}* role" in " ".join([*env.replies(), *env.views(), env.ack_errors()])
        assert env.kibana_since() == [], "a refused action reached Kibana"
        effect = path.reached(env)
        if hasattr(effect, "__await__"):
            effect = await effect
        assert not effect, "a refused action had its effect"


@pytest.mark.parametrize(("policy_text", "grant", "action", "path"), SPACE_CASES)
async def test_space_grants(
    grant: str,
    action: str,
    path: EntryPath,
    driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    bot: RunningBot,
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    env = Env(driver=driver, slack=slack, kibana=kibana, bot=bot, needed=ACTIONS[action])
    if path.setup is not None:
        await path.setup(env)
    env.mark()
    await path.act(env)
    if allowed_with(grant, action):
        await poll(env, path.reached, "the allowed action's effect")
        assert not path.refused(env), "an allowed action was refused"
        return
    await poll(env, path.refused, "the refusal")
    said = " ".join([*env.replies(), *env.views(), env.ack_errors()])
    if _CATALOG.action(action).scope is Scope.DEPLOYMENT:
        assert f"You need the *{ACTIONS[action]}* role in every Kibana space" in said
    else:
        assert f"You need the *{ACTIONS[action]}* role in Kibana space `default`" in said
    assert env.kibana_since() == [], "a refused action reached Kibana"
    effect = path.reached(env)
    if hasattr(effect, "__await__"):
        effect = await effect
    assert not effect, "a refused action had its effect"
    if not _CATALOG.action(action).read_only:
        refused = [e for e in await bot.runtime.services.store.list_audit(limit=50) if e.user_id == BOB]
        assert refused and all(e.result == "refused" for e in refused), "a refused write was not audited"
