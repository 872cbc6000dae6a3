"""The APM feature's words for the Kibana errors of its calls: the source-map API being off or without
Fleet, a source map or APM resource that is not there, the APM privileges a 403 names, and agent keys
that need a Kibana user. `actions.py` contributes it to the catalog, which asks it before the generic
sentences (`handlers.shared.errors`)."""

from __future__ import annotations

from bot.kibana.errors import (
    KibanaBadRequest,
    KibanaError,
    KibanaForbidden,
    KibanaNotFound,
    KibanaResponseInvalid,
    KibanaRouteNotFound,
    KibanaServerError,
)
from handlers.shared.blocks import escape
from handlers.shared.errors import Doing, refused, where

APM_ROUTES = "/api/apm/"
SOURCEMAP_ROUTES = "/api/apm/sourcemaps"
# Elasticsearch refuses APM agent keys to a caller that authenticated with an API key (behaviours.md §11).
DERIVED_KEY = "creating derived api keys requires an explicit role descriptor"
AGENT_KEY_SETTINGS = "`KIBANA_AGENT_KEY_USERNAME` and `KIBANA_AGENT_KEY_PASSWORD`"


def explain(error: KibanaError, doing: Doing) -> str | None:
    cmd = doing.command
    path = error.path or ""
    unavailable = sourcemaps_unavailable(error)
    if unavailable:
        return unavailable
    if isinstance(error, KibanaNotFound) and SOURCEMAP_ROUTES in path:
        return f"No such source map {where(doing)}. List them with `{cmd} apm sourcemaps`."
    if isinstance(error, KibanaNotFound) and APM_ROUTES in path:
        return f"Kibana has no such APM resource {where(doing)} (is APM enabled?): {escape(error.message)}."
    if isinstance(error, KibanaForbidden) and APM_ROUTES in path:
        return refused(error, doing, application="APM application")
    if isinstance(error, KibanaBadRequest) and DERIVED_KEY in error.message:
        return agent_key_needs_user()
    if isinstance(error, KibanaServerError) and error.method == "DELETE" and f"{SOURCEMAP_ROUTES}/" in path:
        return (
            f"Kibana could not delete that source map {where(doing)} ({escape(error.message)}); "
            "it may already be gone. "
            f"List them with `{cmd} apm sourcemaps`."
        )
    return None


def sourcemaps_unavailable(error: KibanaError) -> str | None:
    """Why the APM source-map API is not there (501 off, 404 no route, an empty 200 without Fleet)."""
    if SOURCEMAP_ROUTES not in (error.path or ""):
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


def agent_key_needs_user() -> str:
    return (
        "Kibana cannot create APM agent keys with the bot's API key: Kibana creates the key as the caller, and "
        "Elasticsearch refuses keys with privileges to API-key credentials. An admin of the bot can set "
        f"{AGENT_KEY_SETTINGS} (a Kibana user with the APM privileges and `manage_own_api_key`), used only for "
        "agent keys. Nothing was created."
    )
