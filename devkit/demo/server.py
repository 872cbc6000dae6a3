"""The demo page's HTTP API (aiohttp, 127.0.0.1): the page plays the Slack client.

Everything the user does becomes the request Slack would send — built and signed by the
devkit's `SlackDriver` and posted to the bot's `/slack/events` — and everything the bot
does lands in the fake Slack, whose state the page polls from `GET /api/state`.

    GET  /                            the page (static/index.html, app.js, style.css)
    GET  /api/state                   messages, threads, ephemerals, the open modal
    POST /api/command   {text}        `/kibana <text>` as a signed slash command
    POST /api/message   {text, thread_ts?}   a message written by the demo user
    POST /api/action    {ts | view_id, action_id, block_id, value, ephemeral?}   block_actions
    POST /api/shortcut  {ts, callback_id}    a message shortcut (message_action)
    POST /api/views/{id}/submit {values}     view_submission; answers the bot's `errors`
    POST /api/views/{id}/close               closes the modal (view_closed when asked for)
    POST /api/views/{id}/suggest {action_id, value}   an external_select's options (block_suggestion)
    POST /api/files     multipart `file`     an upload for a file_input
    POST /api/sample-alert                   a Kibana webhook delivery to /kibana/alerts
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from devkit.demo.conversation import Conversation
from devkit.demo.samples import SampleAlerts
from devkit.fake_slack.files import file_object
from devkit.fake_slack.workspace import with_block_ids
from devkit.slack_driver import SlackDriver

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
UPLOAD_LIMIT = 2 * 1024 * 1024  # bytes; Kibana takes source maps up to 1 MiB


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


def _refused(error: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="a JSON body is expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="a JSON object is expected")
    return body


def _answer_json(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class DemoPage:
    """The page and its API in front of a running bot, a fake Slack and (via the bot) Kibana."""

    def __init__(
        self,
        conversation: Conversation,
        driver: SlackDriver,
        alerts: SampleAlerts,
        *,
        bot_url: str,
        webhook_token: str,
        kibana_label: str = "a fake Kibana with demo data",
    ) -> None:
        self.conversation = conversation
        self.driver = driver
        self.alerts = alerts
        self.bot_url = bot_url
        self._webhook_token = webhook_token
        self.kibana_label = kibana_label
        self._http = httpx.AsyncClient(timeout=15.0)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def __repr__(self) -> str:
        return f"DemoPage(url={self.url!r}, bot_url={self.bot_url!r})"

    @property
    def slack(self) -> Any:
        return self.conversation.slack

    # ---- lifecycle -----------------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
        app.router.add_get("/api/state", self.state)
        app.router.add_post("/api/command", self.command)
        app.router.add_post("/api/message", self.message)
        app.router.add_post("/api/action", self.action)
        app.router.add_post("/api/shortcut", self.shortcut)
        app.router.add_post("/api/views/{view_id}/submit", self.submit_view)
        app.router.add_post("/api/views/{view_id}/close", self.close_view)
        app.router.add_post("/api/views/{view_id}/suggest", self.suggest)
        app.router.add_post("/api/files", self.upload)
        app.router.add_post("/api/sample-alert", self.sample_alert)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}/"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._http.aclose()

    # ---- sending to the bot ----------------------------------------------------------------
    async def _send(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.driver.post(payload, client=self._http)

    # ---- routes ------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def state(self, request: web.Request) -> web.Response:
        for ephemeral in self.slack.ephemerals:  # Slack's client sees every block with a block_id
            blocks = ephemeral.get("blocks")
            if blocks and any(isinstance(b, dict) and "block_id" not in b for b in blocks):
                ephemeral["blocks"] = with_block_ids(blocks)
        snapshot = {**self.conversation.snapshot(), "kibana": self.kibana_label}
        return web.json_response(snapshot, headers={"Cache-Control": "no-store"})

    async def command(self, request: web.Request) -> web.Response:
        body = await _json(request)
        text = str(body.get("text", "")).strip()
        payload = self.driver.slash_command(text)
        response = await self._send(payload)
        if response.status_code != 200:
            # What Slack shows when an app does not answer a command properly.
            self.conversation.add_ephemeral(
                f'/kibana failed with the error "http_service_error" ({response.status_code})'
            )
            return _refused(f"the bot answered {response.status_code}", 502)
        answer = _answer_json(response)
        if answer.get("text") or answer.get("blocks"):  # an ack with a message: shown to the user
            if answer.get("response_type") == "in_channel":
                self.slack.workspace.post(
                    self.conversation.channel,
                    text=str(answer.get("text", "")),
                    blocks=answer.get("blocks"),
                    thread_ts=None,
                )
            else:
                self.conversation.add_ephemeral(str(answer.get("text", "")), answer.get("blocks"))
        return _ok()

    async def message(self, request: web.Request) -> web.Response:
        body = await _json(request)
        text = str(body.get("text", "")).strip()
        if not text:
            return _refused("an empty message")
        thread_ts = body.get("thread_ts") or None
        if thread_ts is not None and self.conversation.message(str(thread_ts)) is None:
            return _refused("no such thread", 404)
        message = self.slack.post_as_user(
            self.conversation.channel, text, user=self.conversation.user, thread_ts=thread_ts
        )
        return _ok(ts=message["ts"])

    async def action(self, request: web.Request) -> web.Response:
        body = await _json(request)
        action_id = str(body.get("action_id", ""))
        block_id = body.get("block_id") or None
        value = body.get("value")
        value = None if value is None else str(value)
        try:
            if body.get("view_id"):
                view = self.conversation.view(str(body["view_id"]))
                if view is None:
                    return _refused("no such view", 404)
                payload = self.driver.block_action(action_id, value, view=view, block_id=block_id)
            else:
                ts = str(body.get("ts", ""))
                ephemeral = bool(body.get("ephemeral"))
                message = self.conversation.ephemeral(ts) if ephemeral else self.conversation.message(ts)
                if message is None:
                    return _refused("no such message", 404)
                payload = self.driver.block_action(
                    action_id, value, message=message, block_id=block_id, is_ephemeral=ephemeral
                )
                if ephemeral:
                    name = str(payload["response_url"]).rsplit("/", 1)[-1]
                    self.conversation.ephemeral_sources[name] = ts
        except ValueError as error:
            return _refused(str(error))
        response = await self._send(payload)
        if response.status_code != 200:
            return _refused(f"the bot answered {response.status_code}", 502)
        return _ok()

    async def shortcut(self, request: web.Request) -> web.Response:
        body = await _json(request)
        message = self.conversation.message(str(body.get("ts", "")))
        if message is None:
            return _refused("no such message", 404)
        payload = self.driver.message_shortcut(str(body.get("callback_id", "")), message)
        response = await self._send(payload)
        if response.status_code != 200:
            return _refused(f"the bot answered {response.status_code}", 502)
        return _ok()

    async def submit_view(self, request: web.Request) -> web.Response:
        view_id = request.match_info["view_id"]
        view = self.conversation.view(view_id)
        if view is None or view_id in self.conversation.closed_views:
            return _refused("no such view", 404)
        body = await _json(request)
        values = body.get("values") or {}
        if not isinstance(values, dict):
            return _refused("values must be an object")
        try:
            payload = self.driver.view_submission(view, self._with_files(view, values))
        except ValueError as error:
            return _refused(str(error))
        response = await self._send(payload)
        if response.status_code != 200:
            return _refused(f"the bot answered {response.status_code}", 502)
        answer = _answer_json(response)
        action = answer.get("response_action")
        if action == "errors":
            return _ok(errors=answer.get("errors") or {})
        if action == "update" and isinstance(answer.get("view"), dict):
            self.conversation.update_view(view_id, answer["view"])
        elif action == "push" and isinstance(answer.get("view"), dict):
            self.conversation.push_view(view_id, answer["view"])
        elif action == "clear":
            self.conversation.clear_views(view_id)
        else:
            self.conversation.close_view(view_id)
        return _ok(errors={})

    def _with_files(self, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """file_input values (a list of file ids) as the `files` Slack reports."""
        out: dict[str, Any] = {}
        elements = {
            (b.get("block_id"), b["element"].get("action_id")): b["element"]
            for b in view.get("blocks", [])
            if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("element"), dict)
        }
        for block_id, by_action in values.items():
            if not isinstance(by_action, dict):
                raise ValueError(f"values[{block_id!r}] must be an object")
            out[block_id] = {}
            for action_id, value in by_action.items():
                element = elements.get((block_id, action_id), {})
                if element.get("type") == "file_input":
                    ids = [str(v) for v in (value or [])]
                    files = [file_object(self.slack, self.slack.files[i]) for i in ids if i in self.slack.files]
                    out[block_id][action_id] = {"type": "file_input", "files": files}
                else:
                    out[block_id][action_id] = value
        return out

    async def close_view(self, request: web.Request) -> web.Response:
        view_id = request.match_info["view_id"]
        view = self.conversation.view(view_id)
        if view is None:
            return _refused("no such view", 404)
        self.conversation.close_view(view_id)
        if view.get("notify_on_close"):
            response = await self._send(self.driver.view_closed(view))
            if response.status_code != 200:
                return _refused(f"the bot answered {response.status_code}", 502)
        return _ok()

    async def suggest(self, request: web.Request) -> web.Response:
        """What the user typed into an external select of the open modal: the bot's options for it."""
        view_id = request.match_info["view_id"]
        view = self.conversation.view(view_id)
        if view is None or view_id in self.conversation.closed_views:
            return _refused("no such view", 404)
        body = await _json(request)
        try:
            payload = self.driver.block_suggestion(
                view, str(body.get("action_id", "")), str(body.get("value", ""))[:200]
            )
        except StopIteration:
            return _refused("no such menu in the view")
        response = await self._send(payload)
        if response.status_code != 200:
            return _refused(f"the bot answered {response.status_code}", 502)
        options = _answer_json(response).get("options")
        return _ok(options=options if isinstance(options, list) else [])

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        field = form.get("file")
        if not isinstance(field, web.FileField):
            return _refused("a multipart field `file` is expected")
        content = field.file.read()
        stored = self.slack.add_file(
            field.filename or "upload",
            content,
            field.content_type or "application/octet-stream",
            user=self.conversation.user,
        )
        return _ok(file={"id": stored["id"], "name": stored["name"], "size": stored["size"]})

    async def sample_alert(self, request: web.Request) -> web.Response:
        body = await self.alerts.next_body()
        if body is None:
            return _refused(
                "Kibana would notify no alert now (every active alert is muted or snoozed, or no rule is enabled)", 409
            )
        response = await self._http.post(
            f"{self.bot_url}/kibana/alerts",
            json=body,
            headers={"Authorization": f"Bearer {self._webhook_token}"},
        )
        if response.status_code not in (200, 202):
            return _refused(f"the bot answered {response.status_code}: {response.text[:200]}", 502)
        return _ok(rule_id=body["rule_id"], alert_id=body["alert_id"])
