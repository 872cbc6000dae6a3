"""One place that turns every failure into a sentence the user can act on.

`describe()` is pure: it maps an exception (and what the user was doing) to
text. `reference()` logs an unexpected error under a short id that the user
sees instead of a traceback.

The sentences here are generic: they name no feature's command or endpoint. A feature words the
Kibana errors of its own calls (a missing rule, the snooze API's versions, a case that is gone, the
APM source-map API being off) in its own `explain`, contributed through the catalog and carried by
`Doing`; it is asked first, and these sentences answer whatever it leaves.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.credentials import CredentialsKeyWrong, shown_key_id
from bot.failure_log import FailureLog
from bot.kibana.acting import KibanaNotLinked, PersonForbidden, PersonKeyRejected
from bot.kibana.errors import (
    KibanaBadRequest,
    KibanaConflict,
    KibanaError,
    KibanaForbidden,
    KibanaNotFound,
    KibanaPayloadTooLarge,
    KibanaRateLimited,
    KibanaServerError,
    KibanaTimeout,
    KibanaUnauthorized,
    KibanaUnavailable,
)
from bot.slack_limits import SlackRateLimited
from bot.slack_scopes import lacks_scope
from bot.store.errors import StoreUnavailable, store_unreachable
from handlers.shared.blocks import code, escape
from handlers.shared.channels import ChannelRefused, what_to_do
from handlers.shared.grammar import UsageError

log = logging.getLogger(__name__)
_failures = FailureLog(log)

# Elasticsearch security (e.g. APM agent keys): "<user> is missing the following requested privilege(s):
# <privs>[ and following cluster privileges - <cluster> privilege(s)]." followed by a role hint.
_ES_MISSING = re.compile(
    r"is missing the following requested privilege\(s\):\s*(?P<app>.*?)"
    r"(?:\s+and following cluster privileges\s*-\s*(?P<cluster>.*?)\s+privilege\(s\))?\.(?:\s|$)",
    re.DOTALL,
)
# Kibana route authorization: "… this action is granted by the Kibana privileges [<privs>]".
_KIBANA_MISSING = re.compile(r"granted by the Kibana privileges \[(?P<privs>[^\]]*)\]")


@dataclass(frozen=True, kw_only=True)
class Doing:
    """What the user was doing, for the wording of errors."""

    command: str  # the slash command (SLACK_COMMAND), for the sentences that name it
    explain: Explain  # the features' sentences, asked before the generic ones (the catalog's, or a feature's)
    action: str = ""
    read_only: bool = False  # the action changes nothing (so a timeout leaves no doubt)
    space: str = "default"
    rule_id: str | None = None
    alert_id: str | None = None
    kibana_version: str | None = None  # as last read from GET /api/status


Explain = Callable[[KibanaError, Doing], str | None]
"""A feature's sentence for a Kibana error of its own calls, or None when it has none to say."""


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
    if isinstance(error, StoreUnavailable):
        return error.sentence()
    if isinstance(error, UsageError):
        usage = f"\nUsage: `{cmd} {error.usage}`" if error.usage else f"\nTry `{cmd} help`."
        return f"{escape(error.message)}{usage}"
    if isinstance(error, CredentialsKeyWrong):
        return (
            "The bot cannot read your linked Kibana key: its CREDENTIALS_KEY no longer decrypts it, so nothing was "
            f"done. Connect your key again (`{cmd} connect`); an admin can check CREDENTIALS_KEY with "
            "`python -m bot check`."
        )
    if isinstance(error, KibanaNotLinked | PersonKeyRejected | PersonForbidden):
        return _person(error, doing)
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
    if store_unreachable(error):  # where it failed is not known here: what was done before stays done
        _failures.failed(
            "store", "the database did not answer while %s", doing.action or "handling a request", error=error
        )
        return (
            "The bot's database is not answering, so the bot stopped there (anything it had already done "
            "stays done). Try again in a minute; if it keeps failing, an admin can look at the bot's log."
        )
    ref = reference(error, doing)
    return (
        f"Something went wrong on the bot's side (reference `{ref}`). Nothing more was done; "
        f"an admin can find the details in the bot's log under that reference."
    )


def where(doing: Doing) -> str:
    return f"in space {code(doing.space)}"


def what(doing: Doing) -> str:
    """The action as the person types it, after the slash command; or "the request"."""
    return f"`{doing.command} {doing.action}`" if doing.action else "the request"


def not_connected(cmd: str) -> str:
    return (
        "This bot acts in Kibana as each person, and your Kibana account is not connected, so nothing was "
        f"sent to Kibana. Connect it with an API key of your own: `{cmd} connect`."
    )


def key_rejected(key_id: str, cmd: str, *, earlier: bool = False) -> str:
    """Kibana answered 401 to a person's own key: now (`earlier`: since it was linked, the link is stale)."""
    if earlier:
        return (
            f"Kibana rejected your linked API key (`{shown_key_id(key_id)}`): it has expired or been revoked, "
            f"so nothing was done. Connect a new key with `{cmd} connect`."
        )
    return (
        f"Kibana rejected your API key (`{shown_key_id(key_id)}`, 401): it has expired or been revoked, "
        f"so nothing was done. Connect a new key with `{cmd} connect`."
    )


def _person(error: KibanaNotLinked | PersonKeyRejected | PersonForbidden, doing: Doing) -> str:
    """Kibana's answer to a person's own key (KIBANA_IDENTITY=person), in Kibana's terms: not the
    bot's credentials, nor the bot's roles."""
    if isinstance(error, KibanaNotLinked):
        return not_connected(doing.command)
    if isinstance(error, PersonKeyRejected):
        return key_rejected(error.key.key_id, doing.command)
    return (
        f"Kibana refuses this for your account: it needs {error.needs.sentence()}. Nothing was changed; "
        "a Kibana admin can grant it to your role (Kibana said: " + escape(error.message) + ")."
    )


def _kibana(error: KibanaError, doing: Doing) -> str:
    explained = doing.explain(error, doing)
    if explained is not None:
        return explained
    if isinstance(error, KibanaNotFound):
        return f"Kibana found nothing there {where(doing)}: {escape(error.message)}."
    if isinstance(error, KibanaUnauthorized):
        return (
            "Kibana rejected the bot's credentials (401). Nothing was changed. An admin needs to check "
            "the bot's KIBANA_API_KEY (or KIBANA_USERNAME/KIBANA_PASSWORD) — run `python -m bot check`."
        )
    if isinstance(error, KibanaForbidden):
        return refused(error, doing)
    if isinstance(error, KibanaUnavailable):
        return unavailable(error, doing)
    if isinstance(error, KibanaRateLimited):
        return f"Kibana is rate-limiting the bot, so {what(doing)} did not happen. Try again in a minute."
    if isinstance(error, KibanaPayloadTooLarge):
        return f"Kibana refused the upload: it is larger than Kibana accepts ({escape(error.message)})."
    if isinstance(error, KibanaConflict):
        return f"Someone else changed it at the same time ({escape(error.message)}). Look again and retry."
    if isinstance(error, KibanaBadRequest):
        return f"Kibana refused {what(doing)}: {escape(error.message)}"
    if isinstance(error, KibanaServerError):
        return f"Kibana failed with an internal error ({error.status_code}) while {what(doing)}. Try again later."
    return f"Kibana answered with an error while {what(doing)}: {escape(error.message)}"


def refused(error: KibanaForbidden, doing: Doing, *, application: str = "") -> str:
    """A 403: the privileges Kibana names as missing, else Kibana's own words. `application` names the kind
    of the requested privileges (e.g. "APM application")."""
    lacking = missing_privileges(error.message, application=application)
    if lacking:
        return (
            f"Kibana refused {what(doing)} (403): the bot's Kibana credentials lack {lacking} "
            f"{where(doing)}. Nothing was changed; a Kibana admin can grant it to the bot's role."
        )
    return (
        f"Kibana refused {what(doing)} (403): {escape(error.message)}. The bot's Kibana credentials lack that "
        f"privilege {where(doing)}; a Kibana admin can grant it to the bot's role."
    )


def unavailable(error: KibanaUnavailable, doing: Doing, *, check: str = "Check in Kibana") -> str:
    """Kibana did not answer: whether the action happened is not known when the request may have reached
    Kibana and it changes something; then the person is told to look first (`check` says how)."""
    status = f" ({error.status_code})" if error.status_code else ""
    cause = "did not answer in time" if isinstance(error, KibanaTimeout) else f"could not be reached{status}"
    ambiguous = getattr(error, "request_sent", True) and error.status_code != 503
    if ambiguous and not doing.read_only:
        return f"Kibana {cause}, so it is not known whether {what(doing)} happened. {check} before trying again."
    return f"Kibana {cause}, so {what(doing)} did not happen. Nothing was changed; try again in a minute."


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
