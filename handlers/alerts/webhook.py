"""`POST /kibana/alerts`: the target of a Kibana Webhook connector.

The body users paste into the connector's action (Kibana renders the mustache variables;
for a JSON body it escapes them as JSON strings):

    {"rule_id":"{{rule.id}}","rule_name":"{{rule.name}}","space_id":"{{rule.spaceId}}",
     "alert_id":"{{alert.id}}","alert_uuid":"{{alert.uuid}}","action_group":"{{alert.actionGroup}}",
     "state":"active","reason":"{{context.reason}}","message":"{{context.message}}",
     "rule_url":"{{rule.url}}","tags":"{{rule.tags.asJSON}}","date":"{{date}}"}

(the Recovered action's body says `"state":"recovered"`; a `"channel"` may be added, else ALERT_CHANNEL).
What Kibana's Webhook connector really renders (behaviours.md §11): `{{context.reason}}` is empty for
index-threshold rules, so the message is shown when the reason is empty; a rule type may name its own
recovery action group, so `state`, when present, wins over `action_group`; summary-frequency actions
render `alert.id = alert.uuid = rule.id`, posted as one rule-level message without per-alert buttons;
`{{rule.tags}}` renders comma-joined, and Kibana's mustache renderer gives arrays an `asJSON`
(`{{rule.tags.asJSON}}` → `["prod","db,eu"]`, JSON-escaped inside the quotes), so tags containing commas
survive; both forms are accepted (a comma-joined first tag may itself start with `[`: `[x],prod` is two
tags, not broken JSON).

Kibana puts no limit on what a rule renders, and a 4xx fails the action for good (the alert is lost),
so the body is taken as Kibana renders it and made fit for Slack and the store here: a lone UTF-16
surrogate (`JSON.stringify` writes half an emoji as `\\ud83d`), NUL and the other control characters
Slack cannot show become U+FFFD (PostgreSQL refuses NUL in text); the reason and the message are clipped
to TEXT_KEPT characters (more than any Slack section shows), the tags to TAGS_KEPT of TAG_KEPT
characters, the rule name to RULE_NAME_KEPT. Only what the bot cannot act on is refused: ids that are
not Kibana's, a missing required field, a body that is not JSON or is over BODY_LIMIT.

Authenticated by `Authorization: Bearer $ALERT_WEBHOOK_TOKEN` (constant-time compare).
This module alone speaks HTTP; the intake (handlers.alerts.delivery) answers each delivery with where
it stands in Slack (handlers.alerts.results). Answers: 200 Slack shows it (posted, grouped, updated,
recovered, duplicate), 202 queued (the publisher shows it when Slack allows, or the work goes on in
the background past ANSWER_WITHIN), 400 bad body (naming the field) or a body sent incompletely,
401 bad token, 408 a body that did not arrive in time, 413 body too large, 429 the token is over its
budget or this replica is too far behind on its records (webhook_budget.py, backlog.py; the delivery is
booked, Retry-After says when to send it again, and Kibana does), 503 not recorded
within RECORD_WITHIN (a database too busy for a storm: Kibana retries; 202 always means recorded), 422 Slack refuses the
channel for good (a second time in a row: shown in ALERT_CHANNEL instead, or nowhere; Kibana does not
retry a 4xx and its action history shows the answer's `message`), 500 the bot failed on it, 502 Slack
refused it (the delivery is kept and retried, by the publisher and by Kibana's retry).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import metrics
from bot.failure_log import FailureLog
from bot.identifiers import is_rule_id, is_space_id
from bot.request_context import BodyNotReceived, read_limited
from bot.services import Services
from handlers.alerts.answers import QUEUED, Answer, answer_for
from handlers.alerts.backlog import Backlog, Ticket
from handlers.alerts.card_facts import CardFacts, webhook_facts
from handlers.alerts.results import DeliveryResult
from handlers.alerts.webhook_budget import Refused, WebhookBudget

log = logging.getLogger(__name__)

BODY_LIMIT = 256 * 1024  # bytes; a rendered alert is a few KiB
TEXT_KEPT = 3000  # characters of the reason and of the message: Slack shows at most 3000 in a section
TAGS_KEPT = 100  # tags of a rule kept (a message shows the first 20)
TAG_KEPT = 200  # characters of one tag
RULE_NAME_KEPT = 1000  # characters of the rule name (a message's header shows 150)
# What Slack cannot show and PostgreSQL cannot store: a lone UTF-16 surrogate, C0 controls but tab and
# line breaks (NUL among them), DEL and C1 controls. Each becomes U+FFFD, the replacement character.
UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
BUDGET_KEY = "ALERT_WEBHOOK_TOKEN"  # the budget key: the name of the setting, never the token itself
ANSWER_WITHIN = 8.0  # seconds; Kibana's webhook connector waits far longer, Slack answers far sooner
# A delivery is answered 202 (queued) only once it is recorded: until then it exists only in this process,
# and a replica killed then (`kill -9`) would lose an alert Kibana was told is taken. Under a storm that the
# database is slow to take, the answer waits for the record up to RECORD_WITHIN (Kibana's connector waits
# 60 s by default, xpack.actions.responseTimeout), then says 503, so that Kibana retries: the record, if it
# lands meanwhile, makes the retry a duplicate, counted once.
RECORD_WITHIN = 40.0
# A direct message: a user id (U…, W…), a DM channel id (D…) or @name. Webhooks never post there.
DIRECT = re.compile(r"(?:[UWD][A-Z0-9]{2,}|@.*)")

# What each field should be set to in the connector body, for the 400 messages.
MUSTACHE = {
    "rule_id": "{{rule.id}}",
    "rule_name": "{{rule.name}}",
    "space_id": "{{rule.spaceId}}",
    "alert_id": "{{alert.id}}",
    "alert_uuid": "{{alert.uuid}}",
    "action_group": "{{alert.actionGroup}}",
    "state": '"active" (the Recovered action: "recovered")',
    "reason": "{{context.reason}}",
    "message": "{{context.message}}",
    "rule_url": "{{rule.url}}",
    "tags": "{{rule.tags.asJSON}}",
    "date": "{{date}}",
}


def readable(text: str) -> str:
    """`text` with what Slack cannot show and PostgreSQL cannot store (UNSHOWABLE) replaced by U+FFFD."""
    return UNSHOWABLE.sub("\ufffd", text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _comma_joined(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


class AlertDelivery(BaseModel):
    """One webhook delivery, as Kibana renders the connector body."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    rule_id: str = Field(min_length=1, max_length=255)
    rule_name: str = ""
    space_id: str = Field("", max_length=100)
    alert_id: str = Field(min_length=1, max_length=512)
    alert_uuid: str = Field(min_length=1, max_length=255)
    action_group: str = Field(min_length=1, max_length=255)
    state: Literal["active", "recovered"] | None = None  # wins over action_group when present
    reason: str = ""
    message: str = ""
    rule_url: str = ""
    tags: list[str] = Field(default_factory=list)
    date: datetime | None = None
    # the store keeps 64 characters: a longer #name is refused (with what to do) rather than failing to store
    channel: str | None = Field(None, max_length=64)
    # What else the alert carries (handlers/alerts/card_facts.py): from the body's `flapping`, `value`,
    # `conditions` and `alert_url`, or from an alert document.
    facts: CardFacts | None = None

    @model_validator(mode="before")
    @classmethod
    def _readable(cls, data: Any) -> Any:
        """Every text of the body made readable before it is validated (pydantic refuses a lone surrogate)."""
        if not isinstance(data, dict):
            return data
        return webhook_facts({key: _readable_value(value) for key, value in data.items()})

    @field_validator("rule_id")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if value and not is_rule_id(value):
            raise ValueError("a Kibana rule id has only letters, digits, '_', '.', ':' and '-'")
        return value

    @field_validator("space_id")
    @classmethod
    def _space(cls, value: str) -> str:
        if value and not is_space_id(value):
            raise ValueError("a Kibana space id has only lowercase letters, digits, '_' and '-'")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        """Mustache renders `{{rule.tags}}` as "prod,db" and `{{rule.tags.asJSON}}` as a JSON list (its text,
        inside quotes). Comma-joined tags may start with `[` too (`[x],prod`): what is not a JSON list is
        comma-joined. At most TAGS_KEPT tags of TAG_KEPT characters are kept."""
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if not text.startswith("["):
                value = _comma_joined(text)
            else:
                try:
                    value = json.loads(text)
                except (ValueError, RecursionError):
                    value = None
                if not isinstance(value, list) or any(isinstance(tag, dict | list) for tag in value):
                    value = _comma_joined(text)
        if isinstance(value, list):
            tags = (readable(str(tag)).strip() for tag in value if tag is not None)
            return [clip(tag, TAG_KEPT) for tag in tags if tag][:TAGS_KEPT]
        return value

    @field_validator("reason", "message")
    @classmethod
    def _text(cls, value: str) -> str:
        return clip(value, TEXT_KEPT)

    @field_validator("rule_name")
    @classmethod
    def _rule_name(cls, value: str) -> str:
        return clip(value, RULE_NAME_KEPT)

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("channel")
    @classmethod
    def _not_direct(cls, value: str | None) -> str | None:
        if value is not None and DIRECT.fullmatch(value):
            raise ValueError("alerts go to channels, never to a person (a direct message); name a channel")
        return value

    @field_validator("rule_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # Accepted for the connector bodies that send it, but never shown: the bot builds every link
        # from KIBANA_PUBLIC_URL and the ids (a body's link could point anywhere).
        return value if value.startswith(("https://", "http://")) and len(value) <= 3000 else ""

    @property
    def space(self) -> str:
        return self.space_id or "default"

    @property
    def recovered(self) -> bool:
        """`state` when the body has it (a rule type may name its own recovery group), else the group."""
        if self.state is not None:
            return self.state == "recovered"
        return self.action_group.lower() == "recovered"

    @property
    def summary(self) -> bool:
        """A summary-frequency action: Kibana renders `alert.id = alert.uuid = rule.id`."""
        return self.alert_id == self.rule_id

    @property
    def text(self) -> str:
        """What happened: the reason, or the message when the rule type gives no reason."""
        return self.reason or self.message


def _readable_value(value: Any) -> Any:
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, list):
        return [readable(item) if isinstance(item, str) else item for item in value]
    return value


class BadDelivery(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def response(self) -> Response:
        # Kibana's Webhook connector records the answer's `message` in the action's history (`[400] Bad Request: …`)
        return JSONResponse({"error": self.message, "field": self.field, "message": self.message}, status_code=400)


def parse_delivery(
    raw: bytes, *, default_channel: str | None, allowed: frozenset[str] | None = None
) -> tuple[AlertDelivery, str]:
    """The delivery and the channel it goes to; `BadDelivery` names what is wrong. With `allowed`,
    the channel must be one of those ids."""
    try:
        # strict=False: a raw newline inside a string (an unescaped {{context.reason}}) is accepted.
        data = json.loads(raw.decode("utf-8"), strict=False)
    except UnicodeDecodeError:
        raise BadDelivery("the body is not UTF-8 text") from None
    except RecursionError:
        raise BadDelivery("the body is nested too deeply to be an alert") from None
    except json.JSONDecodeError as error:
        raise BadDelivery(
            f"the body is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "check that every mustache variable is inside quotes"
        ) from None
    if not isinstance(data, dict):
        raise BadDelivery("the body must be a JSON object")
    try:
        data.pop("facts", None)  # what the alert carries is read from the body's own keys, never taken whole
        delivery = AlertDelivery.model_validate(data)
    except ValidationError as error:
        raise _describe(error) from None
    except RecursionError:
        raise BadDelivery("the body is nested too deeply to be an alert") from None
    channel = delivery.channel or default_channel
    if not channel:
        raise BadDelivery('no channel: add "channel":"#alerts" to the body or set ALERT_CHANNEL', "channel")
    if allowed is not None and channel not in allowed:
        raise BadDelivery("`channel`: not one of the channels webhooks may post to (ALERT_CHANNELS)", "channel")
    return delivery, channel


def _describe(error: ValidationError) -> BadDelivery:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else None
    hint = f' (in the connector body: "{field}":"{MUSTACHE[field]}")' if field in MUSTACHE else ""
    if first["type"] == "missing":
        return BadDelivery(f"`{field}` is missing{hint}", field)
    if first["type"] == "string_too_short":
        return BadDelivery(f"`{field}` is empty{hint}", field)
    if field == "channel" and first["type"] == "string_too_long":
        return BadDelivery("`channel`: at most 64 characters; name the channel by its id (C0123…)", field)
    message = str(first["msg"]).removeprefix("Value error, ")
    return BadDelivery(f"`{field}`: {message}", field)


# ---- the endpoint ----------------------------------------------------------------------

# The intake: records a delivery for a channel (setting the event once it is recorded) and says where it
# stands in Slack.
Process = Callable[[AlertDelivery, str, asyncio.Event], Awaitable[DeliveryResult]]
NOT_RECORDED = Answer(
    503,
    {
        "error": "the bot could not record this alert in time (its database is busy); Kibana retries it",
        "message": "the bot could not record this alert in time (its database is busy); Kibana retries it",
    },
    "not_recorded",
)


def _authorized(request: Request, token: bytes) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token)


def make_endpoint(services: Services, process: Process) -> Callable[[Request], Awaitable[Response]]:
    secret = services.settings.alert_webhook_token
    assert secret is not None
    token = secret.get_secret_value().encode()

    backlog = Backlog()
    budget = WebhookBudget.from_settings(services.settings, backlog)
    throttled = FailureLog(log)

    def refuse(status: int, body: dict[str, Any], outcome: str) -> Response:
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        return JSONResponse(body, status_code=status)

    def over_budget(over: Refused) -> Response:
        if over.over == "backlog":
            why = f"this replica is {backlog.waiting} deliveries behind on recording alerts; your delivery is booked"
        elif over.over == "booked":
            why = "this delivery came back before its booked turn"
        else:
            what = "deliveries a second (ALERT_WEBHOOK_RATE)" if over.over == "deliveries" else "bytes a second"
            why = f"this token sends more {what} than its budget"
        said = f"{why}; retry after {over.retry_after} s (Kibana's connector does)"
        throttled.often(f"budget:{over.over}", "alert webhook: answered 429: %s", said)
        outcome = "behind" if over.over == "backlog" else "over_budget"
        response = refuse(429, {"error": said, "message": said}, outcome)
        response.headers["Retry-After"] = str(over.retry_after)
        return response

    async def alerts_webhook(request: Request) -> Response:
        if not _authorized(request, token):
            log.warning("alert webhook: refused a delivery without the right bearer token")
            response = refuse(401, {"error": "missing or wrong bearer token"}, "unauthorized")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        try:
            raw = await read_limited(request, BODY_LIMIT, deadline=services.settings.http_body_timeout)
        except BodyNotReceived as incomplete:
            return refuse(incomplete.status, {"error": incomplete.message}, incomplete.reason)
        if raw is None:
            return refuse(413, {"error": f"the body is larger than {BODY_LIMIT // 1024} KiB"}, "too_large")
        over = budget.admit(BUDGET_KEY, raw)
        if over is not None:
            return over_budget(over)
        try:
            delivery, channel = parse_delivery(
                raw,
                default_channel=services.settings.alert_channel,
                allowed=services.settings.alert_channel_allowlist,
            )
        except BadDelivery as bad:
            log.warning("alert webhook: bad delivery: %s", bad.message)
            metrics.WEBHOOK_DELIVERIES.labels("invalid").inc()
            return bad.response()
        ticket = backlog.enter()
        recorded = _Recorded(ticket)
        work = asyncio.create_task(_run(services, process, delivery, channel, recorded))
        services.inflight.add(work)  # shutdown waits for it
        work.add_done_callback(services.inflight.discard)
        work.add_done_callback(lambda _: ticket.done())  # failed before its record: out of the backlog too
        done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
        if done:
            return work.result().response()
        if not recorded.is_set():  # not even recorded yet: Kibana must not be told it is taken
            stored = asyncio.ensure_future(recorded.wait())
            either: set[asyncio.Future[Any]] = {work, stored}
            finished, _ = await asyncio.wait(
                either, timeout=RECORD_WITHIN - ANSWER_WITHIN, return_when="FIRST_COMPLETED"
            )
            stored.cancel()
            if work in finished:
                return work.result().response()
            if not recorded.is_set():
                log.warning(
                    "alert webhook: alert %s of rule %s not recorded within %.0f s; answered 503 (Kibana retries)",
                    delivery.alert_id,
                    delivery.rule_id,
                    RECORD_WITHIN,
                )
                metrics.WEBHOOK_DELIVERIES.labels(NOT_RECORDED.outcome).inc()
                return NOT_RECORDED.response()
        metrics.WEBHOOK_DELIVERIES.labels(QUEUED.outcome).inc()
        return QUEUED.response()

    return alerts_webhook


class _Recorded(asyncio.Event):
    """Set once the delivery is recorded: it leaves the backlog then."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__()
        self._ticket = ticket

    def set(self) -> None:
        self._ticket.done()
        super().set()


async def _run(
    services: Services, process: Process, delivery: AlertDelivery, channel: str, recorded: asyncio.Event
) -> Answer:
    try:
        answer = answer_for(await process(delivery, channel, recorded))
    except Exception:
        log.exception(
            "alert webhook: failed on alert %s of rule %s (space %s)",
            delivery.alert_id,
            delivery.rule_id,
            delivery.space,
        )
        answer = Answer(500, {"error": "the bot failed on this delivery; see its log"}, "error")
    metrics.WEBHOOK_DELIVERIES.labels(answer.outcome).inc()
    return answer
