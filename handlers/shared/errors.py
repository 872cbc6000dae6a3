"""One place that turns every failure into a sentence the user can act on.

`describe()` is pure: it maps an exception (and what the user was doing) to
text. `reference()` logs an unexpected error under a short id that the user
sees instead of a traceback.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.kibana.errors import (
    KibanaBadRequest,
    KibanaConflict,
    KibanaError,
    KibanaForbidden,
    KibanaNotFound,
    KibanaPayloadTooLarge,
    KibanaRateLimited,
    KibanaResponseInvalid,
    KibanaRouteNotFound,
    KibanaServerError,
    KibanaTimeout,
    KibanaUnauthorized,
    KibanaUnavailable,
)
from bot.slack_limits import SlackRateLimited
from bot.slack_scopes import lacks_scope
from handlers.shared.blocks import code, escape
from handlers.shared.channels import ChannelRefused, what_to_do
from handlers.shared.grammar import UsageError

log = logging.getLogger(__name__)

_ALERT_MISSING = re.compile(r'Alert instance with id "(?P<alert>[^"]*)" does not exist for rule with id')
# Elasticsearch security (e.g. APM agent keys): "<user> is missing the following requested privilege(s):
# <privs>[ and following cluster privileges - <cluster> privilege(s)]." followed by a role hint.
_ES_MISSING = re.compile(
    r"is missing the following requested privilege\(s\):\s*(?P<app>.*?)"
    r"(?:\s+and following cluster privileges\s*-\s*(?P<cluster>.*?)\s+privilege\(s\))?\.(?:\s|$)",
    re.DOTALL,
)
# Elasticsearch refuses APM agent keys to a caller that authenticated with an API key (behaviours.md §11).
DERIVED_KEY = "creating derived api keys requires an explicit role descriptor"
AGENT_KEY_SETTINGS = "`KIBANA_AGENT_KEY_USERNAME` and `KIBANA_AGENT_KEY_PASSWORD`"
_CUSTOM_FIELDS = re.compile(r"Missing required custom fields without default value configured:?\s*(?P<fields>.*)", re.S)
# Kibana route authorization: "… this action is granted by the Kibana privileges [<privs>]".
_KIBANA_MISSING = re.compile(r"granted by the Kibana privileges \[(?P<privs>[^\]]*)\]")


@dataclass(frozen=True, kw_only=True)
class Doing:
    """What the user was doing, for the wording of errors."""

    command: str  # the slash command (SLACK_COMMAND), for the sentences that name it
    action: str = ""
    read_only: bool = False  # the action changes nothing (so a timeout leaves no doubt)
    space: str = "default"
    rule_id: str | None = None
    alert_id: str | None = None
    kibana_version: str | None = None  # as last read from GET /api/status


def reference(error: BaseException, doing: Doing | None = None) -> str:
    ref = secrets.token_hex(4)
    log.error(
        "unexpected error (ref %s) while %s",
        ref,
        doing.action if doing else "handling a request",
        exc_info=error,
    )
    return ref


class Refused(Exception):
    """The access policy refused something found only once the request was read (a long snooze);
    the message is the refusal, for the person."""


def describe(error: BaseException, doing: Doing) -> str:
    cmd = doing.command
    if isinstance(error, Refused):
        return str(error)
    if isinstance(error, UsageError):
        usage = f"\nUsage: `{cmd} {error.usage}`" if error.usage else f"\nTry `{cmd} help`."
        return f"{escape(error.message)}{usage}"
    if isinstance(error, KibanaError):
        return _kibana(error, doing)
    if isinstance(error, SlackRateLimited):
        return f"{error.sentence()} Nothing was changed in Slack."
    if isinstance(error, SlackApiError):
        slack_code = str(error.response.get("error", "unknown_error"))
        lacking = lacks_scope(error.response)
        if lacking is not None:
            return f"Slack refused the bot's request: {lacking}."
        hint = what_to_do(slack_code, error.bot if isinstance(error, ChannelRefused) else None) or {
            "expired_trigger_id": "Slack took too long to open the form; run the command again.",
            "ratelimited": "Slack is rate-limiting the bot; try again in a minute.",
        }.get(slack_code, "Try again; if it keeps failing, an admin can look at the bot's log.")
        return f"Slack refused the bot's request ({code(slack_code)}). {hint}"
    ref = reference(error, doing)
    return (
        f"Something went wrong on the bot's side (reference `{ref}`). Nothing more was done; "
        f"an admin can find the details in the bot's log under that reference."
    )


def _where(doing: Doing) -> str:
    return f"in space {code(doing.space)}"


def _this_kibana(doing: Doing) -> str:
    return f"This Kibana ({doing.kibana_version})" if doing.kibana_version else "This Kibana's version"


def sourcemaps_unavailable(error: KibanaError) -> str | None:
    """Why the APM source-map API is not there (501 off, 404 no route, an empty 200 without Fleet)."""
    path = error.path or ""
    if "/api/apm/sourcemaps" not in path:
        return None
    if error.status_code == 501:
        return (
            "The APM source-map API is not available on this Kibana: it is switched off (Kibana answered "
            "501 Not Implemented). A Kibana admin can turn it on in the APM settings; it needs Fleet."
        )
    if isinstance(error, KibanaRouteNotFound):
        return (
            "The APM source-map API is not available on this Kibana: it has no such route (404). Source maps "
            "need the APM app with Fleet set up; a Kibana admin can check that APM is enabled."
        )
    if isinstance(error, KibanaResponseInvalid) and error.status_code == 200:
        return (
            "The APM source-map API is not available on this Kibana: it answered with an empty body, as Kibana "
            "does when Fleet is not set up. A Kibana admin can set up Fleet (source maps are Fleet artifacts)."
        )
    return None


def _kibana(error: KibanaError, doing: Doing) -> str:
    cmd = doing.command
    path = error.path or ""
    unavailable = sourcemaps_unavailable(error)
    if unavailable:
        return unavailable
    if isinstance(error, KibanaRouteNotFound) and "/snooze_schedule" in path:
        return (
            f"{_this_kibana(doing)} has no snooze API (Kibana has it from 8.19 on 8.x and from 9.1 on 9.x), "
            f"so nothing was snoozed. Instead, mute all its alerts (`{cmd} mute-all {doing.rule_id}`) or "
            f"disable the rule (`{cmd} disable {doing.rule_id}`)."
        )
    if isinstance(error, KibanaNotFound):
        missing = _ALERT_MISSING.search(error.message)
        if missing:
            rule = doing.rule_id or ""
            return (
                f"Kibana has no alert {code(missing.group('alert'))} of rule {code(rule)} {_where(doing)}, so it "
                "was not muted (from 9.3 Kibana mutes only alerts it has a record of; summary actions and some "
                f"rule types have none). Mute all alerts of the rule ({code(f'{cmd} mute-all {rule}')}) or snooze "
                f"it ({code(f'{cmd} snooze {rule} 4h')}) instead."
            )
        if "/api/cases" in path:
            return f"That case no longer exists {_where(doing)}: {escape(error.message)}."
        if "/api/apm/sourcemaps" in path:
            return f"No such source map {_where(doing)}. List them with `{cmd} apm sourcemaps`."
        if "/api/apm/" in path:
            return f"Kibana has no such APM resource {_where(doing)} (is APM enabled?): {escape(error.message)}."
        if doing.rule_id:
            return (
                f"Rule {code(doing.rule_id)} was not found {_where(doing)}. Check the id with "
                f"`{cmd} rules`, or name its space with `--space`."
            )
        return f"Kibana found nothing there {_where(doing)}: {escape(error.message)}."
    if isinstance(error, KibanaUnauthorized):
        return (
            "Kibana rejected the bot's credentials (401). Nothing was changed. An admin needs to check "
            "the bot's KIBANA_API_KEY (or KIBANA_USERNAME/KIBANA_PASSWORD) — run `python -m bot check`."
        )
    if isinstance(error, KibanaForbidden):
        lacking = missing_privileges(error.message, application="APM application" if "/api/apm/" in path else "")
        if lacking:
            return (
                f"Kibana refused {_what(doing)} (403): the bot's Kibana credentials lack {lacking} "
                f"{_where(doing)}. Nothing was changed; a Kibana admin can grant it to the bot's role."
            )
        return (
            f"Kibana refused {_what(doing)} (403): {escape(error.message)}. The bot's Kibana credentials lack that "
            f"privilege {_where(doing)}; a Kibana admin can grant it to the bot's role."
        )
    if isinstance(error, KibanaUnavailable):
        status = f" ({error.status_code})" if error.status_code else ""
        cause = "did not answer in time" if isinstance(error, KibanaTimeout) else f"could not be reached{status}"
        ambiguous = getattr(error, "request_sent", True) and error.status_code != 503
        if ambiguous and not doing.read_only:
            check = f" Check with `{cmd} rule {escape(doing.rule_id)}`" if doing.rule_id else " Check in Kibana"
            return f"Kibana {cause}, so it is not known whether {_what(doing)} happened.{check} before trying again."
        return f"Kibana {cause}, so {_what(doing)} did not happen. Nothing was changed; try again in a minute."
    if isinstance(error, KibanaRateLimited):
        return f"Kibana is rate-limiting the bot, so {_what(doing)} did not happen. Try again in a minute."
    if isinstance(error, KibanaPayloadTooLarge):
        return f"Kibana refused the upload: it is larger than Kibana accepts ({escape(error.message)})."
    if isinstance(error, KibanaConflict):
        return f"Someone else changed it at the same time ({escape(error.message)}). Look again and retry."
    if isinstance(error, KibanaBadRequest) and DERIVED_KEY in error.message:
        return agent_key_needs_user()
    if isinstance(error, KibanaBadRequest) and (fields := required_custom_fields(error.message)) is not None:
        named = f" ({fields})" if fields else ""
        return (
            f"Kibana refused the case: this owner's case settings require custom fields{named} that have no "
            "default value, and cases opened from Slack cannot fill them. A Kibana admin can give them a default "
            "or make them optional (Cases → Settings)."
        )
    if isinstance(error, KibanaBadRequest):
        return f"Kibana refused {_what(doing)}: {escape(error.message)}"
    if isinstance(error, KibanaServerError) and error.method == "DELETE" and "/api/apm/sourcemaps/" in path:
        return (
            f"Kibana could not delete that source map {_where(doing)} ({escape(error.message)}); "
            "it may already be gone. "
            f"List them with `{cmd} apm sourcemaps`."
        )
    if isinstance(error, KibanaServerError):
        return f"Kibana failed with an internal error ({error.status_code}) while {_what(doing)}. Try again later."
    return f"Kibana answered with an error while {_what(doing)}: {escape(error.message)}"


def agent_key_needs_user() -> str:
    return (
        "Kibana cannot create APM agent keys with the bot's API key: Kibana creates the key as the caller, and "
        "Elasticsearch refuses keys with privileges to API-key credentials. An admin of the bot can set "
        f"{AGENT_KEY_SETTINGS} (a Kibana user with the APM privileges and `manage_own_api_key`), used only for "
        "agent keys. Nothing was created."
    )


def required_custom_fields(message: str) -> str | None:
    """The custom fields named in Kibana's 400 — Kibana lists their labels, quoted
    (`…configured: "Team", "Ticket"`) — "" when it names none, None for another message."""
    found = _CUSTOM_FIELDS.search(message)
    if found is None:
        return None
    return ", ".join(f"`{name}`" for name in re.findall(r'"([^"]*)"', found.group("fields")))


def _names(text: str) -> list[str]:
    return [name.strip(" `'\"") for name in re.split(r"[,\s]+", text) if name.strip(" `'\"")]


def missing_privileges(message: str, *, application: str = "") -> str | None:
    """The privileges a 403 message says are missing, as words (None when it names none).
    `application` names the kind of the requested privileges (e.g. "APM application")."""
    found = _KIBANA_MISSING.search(message)
    if found and _names(found.group("privs")):
        names = _names(found.group("privs"))
        return f"the Kibana privilege{'s' if len(names) > 1 else ''} {_listed(names)}"
    found = _ES_MISSING.search(message)
    if not found:
        return None
    parts = []
    app = _names(found.group("app") or "")
    if app:
        kind = f"{application} privilege" if application else "privilege"
        parts.append(f"the {kind}{'s' if len(app) > 1 else ''} {_listed(app)}")
    cluster = _names(found.group("cluster") or "")
    if cluster:
        parts.append(f"the cluster privilege{'s' if len(cluster) > 1 else ''} {_listed(cluster)}")
    return " and ".join(parts) or None


def _listed(names: list[str]) -> str:
    return ", ".join(code(name) for name in names)


def _what(doing: Doing) -> str:
    return f"`{doing.command} {doing.action}`" if doing.action else "the request"
