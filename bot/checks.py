"""`python -m bot check`: one line per service, saying what failed and what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.access import AccessControl, Permission, load_policy
from bot.alerts_index import (
    ALERTS_INDEX,
    AlertsIndexError,
    AlertsIndexForbidden,
    alerts_readable,
    client_from_settings,
    translate,
)
from bot.kibana.capabilities import Capabilities
from bot.kibana.client import KibanaClient
from bot.kibana.errors import (
    KibanaError,
    KibanaForbidden,
    KibanaTimeout,
    KibanaUnauthorized,
    KibanaUnavailable,
)
from bot.kibana.maintenance_support import maintenance_support
from bot.kibana.profile import KibanaProfile
from bot.kibana.retry import RetryPolicy
from bot.settings import Settings
from bot.slack_client import LimitedWebClient
from bot.slack_scopes import OPTIONAL_SCOPES, granted_scopes, needed_scopes

if TYPE_CHECKING:
    from bot.store import Store
    from bot.store.alert_publishing import RefusedChannel


@dataclass(frozen=True)
class CheckResult:
    service: str
    ok: bool
    detail: str
    warning: bool = False  # works, but something is missing (not a failure: the exit status stays 0)

    def line(self) -> str:
        state = "ok" if self.ok and not self.warning else "WARNING" if self.ok else "FAILED"
        return f"{self.service}: {state} — {self.detail}"


async def _check_kibana(settings: Settings) -> tuple[list[CheckResult], Capabilities | None]:
    """Reachability and health, then one line with the version and licence, then one line per
    feature this Kibana (or the bot's credentials for it) lacks, saying why."""
    async with KibanaClient.from_settings(settings, retry=RetryPolicy(attempts=1)) as kibana:
        reached = await _check_health(settings, kibana)
        if not reached.ok:
            return [reached], None
        capabilities = await KibanaProfile().refresh(kibana, agent_key_credentials=settings.agent_key_auth is not None)
    info = capabilities.info
    lines = [reached, CheckResult("Kibana version", info.version is not None, info.summary())]
    if info.error:
        lines.append(CheckResult("Kibana version", True, f"could not read everything: {info.error}", warning=True))
    if capabilities.webhook_connector and info.license_type is not None:
        lines.append(
            CheckResult(
                "Kibana licence",
                True,
                f"{info.license_type} allows the Webhook connector that feeds alert messages (Gold or better)",
            )
        )
    lines.extend(CheckResult(f"Kibana {m.feature}", True, m.why, warning=True) for m in capabilities.missing)
    windows = maintenance_support(info)
    if not windows.usable:
        why = f"{windows.why}; `mw start|list|end` say so and call nothing"
        lines.append(CheckResult("Kibana maintenance windows", True, why, warning=True))
    return lines, capabilities


def check_alert_intake(
    settings: Settings, capabilities: Capabilities | None, elasticsearch: list[CheckResult]
) -> CheckResult:
    """Which way alerts reach Slack with this licence and these settings: the webhook (Kibana's Webhook
    connector needs Gold or better) and/or polling alerts-as-data for `alerts subscribe` (any licence)."""
    licence = capabilities.info.license_type if capabilities is not None else None
    webhook_licensed = capabilities.webhook_connector if capabilities is not None else None
    webhook_on = settings.alert_webhook_token is not None
    if webhook_licensed is False:
        webhook = f"not the webhook ({licence or 'this'} licence: Kibana's Webhook connector needs Gold or better)"
    elif webhook_on:
        webhook = "the webhook /kibana/alerts (Kibana's Webhook connector, Gold or better)"
    else:
        webhook = "not the webhook (ALERT_WEBHOOK_TOKEN is unset)"
    every = f"{settings.alerts_poll_interval:g} s"
    if settings.elasticsearch_url is not None:
        if all(line.ok for line in elasticsearch):
            return CheckResult(
                "Alert intake",
                True,
                f"polling {ALERTS_INDEX} every {every} for `alerts subscribe` (any licence); {webhook}",
            )
        return CheckResult(
            "Alert intake",
            False,
            f"`alerts subscribe` cannot read {ALERTS_INDEX} (see the Elasticsearch line), so subscribed channels get "
            f"no alerts; {webhook}",
        )
    if webhook_licensed is False or not webhook_on:
        return CheckResult(
            "Alert intake",
            True,
            f"{webhook}, and ELASTICSEARCH_URL is unset, so no alerts reach Slack: set ELASTICSEARCH_URL (with an "
            f"API key that may read {ALERTS_INDEX}) for `alerts subscribe`, which works on any licence",
            warning=True,
        )
    return CheckResult(
        "Alert intake", True, f"{webhook}; set ELASTICSEARCH_URL for `alerts subscribe` (no connector needed)"
    )


async def _check_health(settings: Settings, kibana: KibanaClient) -> CheckResult:
    try:
        health = await kibana.health()
    except KibanaUnauthorized:
        return CheckResult("Kibana", False, "credentials rejected (401): check KIBANA_API_KEY")
    except KibanaForbidden as error:
        return CheckResult("Kibana", False, f"credentials lack a privilege (403): {error.message}")
    except KibanaTimeout:
        return CheckResult(
            "Kibana", False, f"no answer from {settings.kibana_url} within {settings.kibana_timeout:g} s"
        )
    except KibanaUnavailable as error:
        return CheckResult("Kibana", False, f"unreachable at {settings.kibana_url} ({error.message})")
    except KibanaError as error:
        return CheckResult("Kibana", False, str(error))
    states = health.alerting_framework_health
    return CheckResult(
        "Kibana",
        True,
        f"reachable at {settings.kibana_url}, alerting health: decryption {states.decryption_health.status}, "
        f"execution {states.execution_health.status}, read {states.read_health.status}",
    )


async def check_slack(settings: Settings) -> list[CheckResult]:
    client = LimitedWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=str(settings.slack_api_url))
    results = []
    try:
        answer = await client.auth_test()
        results.extend(_slack_token_lines(answer.get("team"), answer.get("user_id"), answer.headers))
    except SlackApiError as error:
        results.append(CheckResult("Slack", False, f"bot token rejected ({error.response.get('error')})"))
    except Exception as error:  # network errors from aiohttp
        results.append(CheckResult("Slack", False, f"unreachable at {settings.slack_api_url} ({type(error).__name__})"))
    if settings.slack_app_token is not None:
        app_client = LimitedWebClient(base_url=str(settings.slack_api_url), limiter=client.limiter)
        try:
            await app_client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
            results.append(CheckResult("Slack Socket Mode", True, "app token accepted"))
        except SlackApiError as error:
            results.append(
                CheckResult("Slack Socket Mode", False, f"app token rejected ({error.response.get('error')})")
            )
        except Exception as error:
            results.append(CheckResult("Slack Socket Mode", False, f"unreachable ({type(error).__name__})"))
    return results


def _slack_token_lines(team: object, user_id: object, headers: Mapping[str, object]) -> list[CheckResult]:
    """The bot token's line, and a failure naming the scopes it lacks (Slack names the token's scopes
    in the `x-oauth-scopes` header of auth.test's answer)."""
    accepted = f"bot token accepted (team {team}, bot user {user_id})"
    granted = granted_scopes(headers)
    if granted is None:
        return [
            CheckResult("Slack", True, accepted),
            CheckResult(
                "Slack scopes",
                True,
                "Slack did not say which scopes the bot token has (no x-oauth-scopes header), so they were not checked",
                warning=True,
            ),
        ]
    lacking = needed_scopes() - granted
    missing = sorted(lacking - set(OPTIONAL_SCOPES))
    optional = sorted(lacking & set(OPTIONAL_SCOPES))
    if not lacking:
        return [CheckResult("Slack", True, f"{accepted}, with every scope the bot needs")]
    results = [CheckResult("Slack", True, accepted)]
    if missing:
        named = ", ".join(f"`{scope}`" for scope in missing)
        results.append(
            CheckResult(
                "Slack scopes",
                False,
                f"the Slack app lacks {named}: reinstall it with the bot's manifest.json, which asks for every scope "
                "the bot needs (what is refused for a missing scope is told to the person, never done)",
            )
        )
    for scope in optional:
        results.append(
            CheckResult(
                "Slack scopes",
                True,
                f"the Slack app lacks `{scope}`: {OPTIONAL_SCOPES[scope]}; reinstall it with the bot's manifest.json",
                warning=True,
            )
        )
    return results


@dataclass(frozen=True)
class Subscribing:
    """The actions that make subscriptions (the handlers' catalog has them), for the access review."""

    alerts: Permission
    health: Permission


async def check_database(settings: Settings, subscribing: Subscribing | None = None) -> list[CheckResult]:
    """The database line; then, when Slack refused alert channels for good lately (read from the store),
    a line naming them; then, given `subscribing`, a line naming the subscriptions the access policy no
    longer allows."""
    from bot.store import Store, StoreSchemaError

    try:
        store = await Store.open(settings.database_url)
    except StoreSchemaError as error:
        return [CheckResult("Database", False, str(error))]
    except Exception as error:
        return [
            CheckResult("Database", False, f"cannot open {_safe_url(settings.database_url)} ({type(error).__name__})")
        ]
    try:
        ok = await store.ping()
        refused = await store.refused_alert_channels(datetime.now(UTC) - REFUSALS_SHOWN) if ok else []
        review = await check_subscriptions_allowed(settings, store, subscribing) if ok and subscribing else None
        identity = await check_identity(settings, store) if ok else None
    finally:
        await store.close()
    database = CheckResult("Database", ok, f"{_safe_url(settings.database_url)} answers" if ok else "no answer")
    lines = [database, check_refused_channels(refused)] if refused else [database]
    lines = [*lines, review] if review is not None else lines
    return [*lines, identity] if identity is not None else lines


async def check_identity(settings: Settings, store: Store) -> CheckResult | None:
    """With KIBANA_IDENTITY=person: the mode, how many people linked their key, and whether
    CREDENTIALS_KEY decrypts every link (None with KIBANA_IDENTITY=bot: nothing to say)."""
    if not settings.acts_as_person or settings.credentials_key is None:
        return None
    from bot.credentials import Credentials
    from bot.people import PersonLinks

    report = await PersonLinks(store, Credentials(settings.credentials_key)).report()
    linked = f"{report.total} {'person has' if report.total == 1 else 'people have'} linked their own API key"
    mode = "person (each person's request carries their own Kibana API key)"
    if report.undecryptable:
        return CheckResult(
            "Kibana identity",
            False,
            f"{mode}; {linked}, but CREDENTIALS_KEY does not decrypt {report.undecryptable} of them "
            "(give the key they were encrypted with, after the new one)",
        )
    decrypts = "CREDENTIALS_KEY decrypts them all" if report.total else "nothing to decrypt yet"
    return CheckResult("Kibana identity", True, f"{mode}; {linked}; {decrypts}")


async def check_subscriptions_allowed(settings: Settings, store: Store, subscribing: Subscribing) -> CheckResult | None:
    """A warning naming the subscriptions whose maker the access policy no longer lets make them there (in
    that channel, for that space): the policy changed since. They still post; this says which to remove.
    Subscriptions declared in configuration are the admin's and are not reviewed."""
    client = LimitedWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=str(settings.slack_api_url))

    async def group_members(group_id: str) -> frozenset[str]:
        answer = await client.usergroups_users_list(usergroup=group_id)
        return frozenset(answer.get("users") or [])

    access = AccessControl(load_policy(settings.access_policy), group_members)
    stale = []
    for alerts in await store.list_alert_subscriptions():
        if not alerts.from_config and await access.check(
            alerts.created_by, alerts.channel, subscribing.alerts, alerts.space
        ):
            stale.append(f"alert subscription #{alerts.id} in {alerts.channel} (space {alerts.space})")
    for health in await store.list_subscriptions():
        if not health.from_config and await access.check(
            health.created_by, health.channel, subscribing.health, health.space
        ):
            stale.append(f"health-report subscription #{health.id} in {health.channel} (space {health.space})")
    if not stale:
        return None
    shown = "; ".join(stale[:SUBSCRIPTIONS_SHOWN])
    more = f" and {len(stale) - SUBSCRIPTIONS_SHOWN} more" if len(stale) > SUBSCRIPTIONS_SHOWN else ""
    return CheckResult(
        "Access policy",
        True,
        f"{len(stale)} subscription{'' if len(stale) == 1 else 's'} made by someone the policy no longer lets make "
        f"them there: {shown}{more}. They still post: remove them with `alerts unsubscribe <id>` or `health "
        "unsubscribe <id>` in their channel (an operator of that space may)",
        warning=True,
    )


SUBSCRIPTIONS_SHOWN = 20


REFUSALS_SHOWN = timedelta(hours=24)  # how far back `check` lists the alert channels Slack refused


def check_refused_channels(refused: list[RefusedChannel]) -> CheckResult:
    """A warning when Slack refused alert channels for good (their alerts went to ALERT_CHANNEL instead), a
    failure when alerts were shown nowhere."""
    listed = []
    for channel in refused:
        if channel.unshown == 0:
            where = "shown in ALERT_CHANNEL instead"
        elif channel.unshown == channel.groups:
            where = "not shown anywhere"
        else:
            where = "shown in ALERT_CHANNEL, some not shown anywhere"
        rules = f"{channel.rules} rule{'' if channel.rules == 1 else 's'}"
        last = channel.last_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        listed.append(f"{channel.channel} ({channel.reason}: alerts of {rules}, last {last}, {where})")
    detail = (
        f"Slack refused alerts for good in the last {REFUSALS_SHOWN.total_seconds() / 3600:.0f} h in "
        + "; ".join(listed)
        + '. Invite the bot to the channel, or name another one ("channel" in the Kibana connector\'s body, or '
        "`alerts subscribe` in another channel)"
    )
    lost = any(channel.unshown for channel in refused)
    return CheckResult("Alert channels", not lost, detail, warning=not lost)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def check_elasticsearch(settings: Settings) -> list[CheckResult]:
    """One line when ELASTICSEARCH_URL is set: reachable (which version), and `.alerts-*` readable
    with these credentials, or what is missing."""
    if settings.elasticsearch_url is None:
        return []
    url = str(settings.elasticsearch_url).rstrip("/")
    kind, _ = settings.elasticsearch_credentials
    whose = {"api_key": "API key", "basic": "user", "none": "no credentials"}[kind]
    own = settings.elasticsearch_api_key is not None or settings.elasticsearch_username is not None
    credentials = f"{'ELASTICSEARCH' if own else 'KIBANA'}_* {whose}" if kind != "none" else whose
    es = client_from_settings(settings, max_retries=0)
    try:
        try:
            info = await es.info()
            version = f"Elasticsearch {info.body.get('version', {}).get('number', '?')}"
        except Exception as error:
            problem = translate(error, url=url)
            if not isinstance(problem, AlertsIndexForbidden):  # no `monitor` privilege: the version stays unknown
                return [CheckResult("Elasticsearch", False, _failure(problem, url))]
            version = "version not shown to these credentials"
        try:
            await alerts_readable(es, url=url)
        except AlertsIndexError as problem:
            return [
                CheckResult("Elasticsearch", False, f"reachable at {url} ({version}), but {_failure(problem, url)}")
            ]
    finally:
        await es.close()
    return [
        CheckResult(
            "Elasticsearch", True, f"reachable at {url} ({version}), {ALERTS_INDEX} readable with {credentials}"
        )
    ]


def _failure(problem: AlertsIndexError, url: str) -> str:
    if problem.status_code == 401:
        return "credentials rejected (401): check ELASTICSEARCH_API_KEY (KIBANA_API_KEY is used when it is unset)"
    if isinstance(problem, AlertsIndexForbidden):
        return f"credentials lack a privilege (403): {problem.sentence}"
    return problem.sentence


async def run_checks(settings: Settings, subscribing: Subscribing | None = None) -> list[CheckResult]:
    kibana, capabilities = await _check_kibana(settings)
    elasticsearch = await check_elasticsearch(settings)
    return [
        *kibana,
        *elasticsearch,
        check_alert_intake(settings, capabilities, elasticsearch),
        *await check_slack(settings),
        *await check_database(settings, subscribing),
    ]
