"""What the channels of a space are told when reading its alerts from Elasticsearch fails: the kind
of problem, and one message saying what happened, what to do, and that nothing will be lost."""

from __future__ import annotations

from bot.alerts_index import (
    AlertsIndexError,
    AlertsIndexForbidden,
    AlertsIndexUnauthorized,
    AlertsIndexUnavailable,
    AlertsIndexUnreachable,
)


def problem_kind(error: AlertsIndexError) -> str:
    if isinstance(error, AlertsIndexUnauthorized):
        return "unauthorized"
    if isinstance(error, AlertsIndexForbidden):
        return "forbidden"
    if isinstance(error, AlertsIndexUnreachable):
        return "unreachable"
    if isinstance(error, AlertsIndexUnavailable):
        return "unavailable"
    return "rejected"


def problem_text(space: str, kind: str, sentence: str, slash: str) -> str:
    """One message for the channel: what happened, what to do, and that nothing will be lost."""
    what = {
        "forbidden": "Elasticsearch refuses to let me read Kibana's alerts",
        "unauthorized": "Elasticsearch rejects my credentials",
        "unreachable": "I cannot reach Elasticsearch",
        "unavailable": "Elasticsearch is failing",
        "rejected": "Elasticsearch refuses my alert search",
    }[kind]
    todo = {
        "forbidden": "An admin of the bot should grant its API key `read` on `.alerts-*`.",
        "unauthorized": "An admin of the bot should check ELASTICSEARCH_API_KEY (KIBANA_API_KEY when it is unset).",
        "unreachable": "An admin of the bot should check ELASTICSEARCH_URL and that Elasticsearch is up.",
        "unavailable": "It usually passes; if it lasts, an admin should look at the cluster's health.",
        "rejected": "An admin of the bot should run `python -m bot check` and look at the bot's log.",
    }[kind]
    return (
        f":warning: {what}, so alerts of space `{space}` are not reaching this channel: {sentence}. {todo} "
        f"I keep trying and will post the alerts I missed once it works (`{slash} alerts subscriptions` "
        "shows the state)."
    )
