"""The async Kibana client: one method per Kibana call the bot makes.

Every method takes `space` (None → the client's default space; "default" → no
`/s/` prefix) and raises the typed errors of `errors.py`. Which calls are retried
is decided per method (`idempotent=`); see `retry.py`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.identifiers import CaseOwner
from bot.settings import Settings

from .connection import DEFAULT_SPACE, KibanaConnection, Observer, parse_body, space_prefix, unreadable
from .errors import KibanaInvalidInput
from .models import (
    AgentConfiguration,
    AgentKey,
    AlertAttachment,
    AlertingHealth,
    Case,
    CaseConfiguration,
    CaseCreate,
    CasePage,
    KibanaStatus,
    LicensingInfo,
    MaintenanceWindow,
    MaintenanceWindowPage,
    Rule,
    RulePage,
    SnoozeSchedule,
    SourceMapArtifact,
    SourceMapPage,
)
from .models.case_activity import ACTIVITY_PAGE, ACTIVITY_TYPES, CaseActivityPage
from .retry import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    import httpx

_SNOOZE_DURATION = re.compile(r"^[1-9][0-9]*[dhms]$")

_CASE_APP: dict[str, str] = {
    "cases": "/app/management/insightsAndAlerting/cases",
    "observability": "/app/observability/cases",
    "securitySolution": "/app/security/cases",
}


class KibanaClient:
    """Async client of the Kibana HTTP API (alerting, Cases, APM), one per process."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        default_space: str = DEFAULT_SPACE,
        timeout: float = 10.0,
        verify: bool | str = True,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        observer: Observer | None = None,
    ) -> None:
        self._kibana = KibanaConnection(
            base_url=base_url,
            api_key=api_key,
            username=username,
            password=password,
            default_space=default_space,
            timeout=timeout,
            verify=verify,
            transport=transport,
            retry=retry,
            observer=observer,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: Observer | None = None,
    ) -> KibanaClient:
        """A client configured from the KIBANA_* settings."""
        return cls(
            base_url=str(settings.kibana_url),
            api_key=settings.kibana_api_key.get_secret_value() if settings.kibana_api_key else None,
            username=settings.kibana_username,
            password=settings.kibana_password.get_secret_value() if settings.kibana_password else None,
            default_space=settings.kibana_space,
            timeout=settings.kibana_timeout,
            verify=str(settings.kibana_ca_cert) if settings.kibana_ca_cert else settings.kibana_verify_tls,
            transport=transport,
            retry=retry,
            observer=observer,
        )

    @property
    def base_url(self) -> str:
        return self._kibana.base_url

    @property
    def default_space(self) -> str:
        return self._kibana.default_space

    def __repr__(self) -> str:
        k = self._kibana
        return f"KibanaClient({k.base_url!r}, auth={k.auth_scheme!r}, default_space={k.default_space!r})"

    async def aclose(self) -> None:
        await self._kibana.aclose()

    async def __aenter__(self) -> KibanaClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def auth_scheme(self) -> str:
        """The bot's credentials: "ApiKey", "Basic" or "none"."""
        return self._kibana.auth_scheme

    # --- which Kibana: version and licence ----------------------------------------------

    async def status(self) -> KibanaStatus:
        response = await self._kibana.call("GET", "/api/status", space="default", idempotent=True)
        return parse_body(KibanaStatus, response, space="default")

    async def licensing_info(self) -> LicensingInfo:
        response = await self._kibana.call("GET", "/api/licensing/info", space="default", idempotent=True)
        return parse_body(LicensingInfo, response, space="default")

    # --- alerting: health and rules -----------------------------------------------------

    async def health(self, *, space: str | None = None) -> AlertingHealth:
        response = await self._kibana.call("GET", "/api/alerting/_health", space=space, idempotent=True)
        return parse_body(AlertingHealth, response, space=space)

    async def get_rule(self, rule_id: str, *, space: str | None = None) -> Rule:
        response = await self._kibana.call(
            "GET", "/api/alerting/rule/{id}", path_params={"id": rule_id}, space=space, idempotent=True
        )
        return parse_body(Rule, response, space=space)

    async def find_rules(
        self, search: str | None = None, *, space: str | None = None, page: int = 1, per_page: int = 20
    ) -> RulePage:
        """Rules whose name or tags match `search` (a simple_query_string); all rules without it."""
        query: dict[str, Any] = {"page": page, "per_page": per_page}
        if search:
            query.update(search=search, search_fields=["name", "tags"])
        response = await self._kibana.call(
            "GET", "/api/alerting/rules/_find", space=space, idempotent=True, query=query
        )
        return parse_body(RulePage, response, space=space)

    # --- alerting: actions on a rule (all idempotent, 204) ------------------------------

    async def mute_alert(
        self,
        rule_id: str,
        alert_id: str,
        *,
        space: str | None = None,
        validate_alerts_existence: bool | None = None,
    ) -> None:
        """`validate_alerts_existence` is sent only when given: Kibanas before 9.3 reject it."""
        await self._kibana.call(
            "POST",
            "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute",
            path_params={"rule_id": rule_id, "alert_id": alert_id},
            space=space,
            idempotent=True,
            query={"validate_alerts_existence": validate_alerts_existence},
        )

    async def unmute_alert(self, rule_id: str, alert_id: str, *, space: str | None = None) -> None:
        await self._kibana.call(
            "POST",
            "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute",
            path_params={"rule_id": rule_id, "alert_id": alert_id},
            space=space,
            idempotent=True,
        )

    async def snooze_alert(
        self,
        rule_id: str,
        alert_id: str,
        *,
        expires_at: datetime | None = None,
        until_worse: bool = False,
        space: str | None = None,
    ) -> None:
        """Kibana 9.5's per-alert snooze: no notifications until `expires_at` and/or until the alert's
        severity changes (`until_worse`); it replaces the alert's earlier snooze. 204."""
        body: dict[str, Any] = {}
        if expires_at is not None:
            body["expires_at"] = expires_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if until_worse:
            body["conditions"] = [{"type": "severity_change"}]
            body["condition_operator"] = "any"
        await self._kibana.call(
            "POST",
            "/api/alerting/rule/{rule_id}/alert/{alert_id}/_snooze",
            path_params={"rule_id": rule_id, "alert_id": alert_id},
            space=space,
            idempotent=True,  # it replaces the alert's snooze: the same call twice leaves the same state
            json=body,
        )

    async def unsnooze_alert(self, rule_id: str, alert_id: str, *, space: str | None = None) -> None:
        await self._kibana.call(
            "POST",
            "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unsnooze",
            path_params={"rule_id": rule_id, "alert_id": alert_id},
            space=space,
            idempotent=True,
        )

    async def mute_all(self, rule_id: str, *, space: str | None = None) -> None:
        await self._rule_action(rule_id, "_mute_all", space)

    async def unmute_all(self, rule_id: str, *, space: str | None = None) -> None:
        await self._rule_action(rule_id, "_unmute_all", space)

    async def enable_rule(self, rule_id: str, *, space: str | None = None) -> None:
        await self._rule_action(rule_id, "_enable", space)

    async def disable_rule(self, rule_id: str, *, untrack: bool = False, space: str | None = None) -> None:
        await self._rule_action(rule_id, "_disable", space, body={"untrack": untrack})

    async def _rule_action(
        self, rule_id: str, action: str, space: str | None, body: dict[str, Any] | None = None
    ) -> None:
        await self._kibana.call(
            "POST",
            "/api/alerting/rule/{id}/" + action,
            path_params={"id": rule_id},
            space=space,
            idempotent=True,
            json=body,
        )

    # --- Security detection alerts ------------------------------------------------------------

    async def set_security_alerts_status(self, alert_ids: list[str], status: str, *, space: str | None = None) -> None:
        """`POST /api/detection_engine/signals/status` with `signal_ids`: the workflow status (`open`,
        `acknowledged`, `closed`) of Security detection alerts, by their `kibana.alert.uuid`. Setting a
        status twice is the same as once, so it is retried like the other idempotent writes."""
        await self._kibana.call(
            "POST",
            "/api/detection_engine/signals/status",
            space=space,
            idempotent=True,
            json={"signal_ids": alert_ids, "status": status},
        )

    # --- alerting: snooze ---------------------------------------------------------------

    async def snooze_rule(
        self,
        rule_id: str,
        duration: str,
        *,
        start: datetime | None = None,
        timezone: str | None = None,
        space: str | None = None,
    ) -> SnoozeSchedule:
        """Snooze the rule's actions for `duration` (`<n>d|h|m|s`, e.g. "4h") from `start` (now)."""
        if not _SNOOZE_DURATION.fullmatch(duration):
            raise KibanaInvalidInput(
                f"{duration!r} is not a snooze duration: use a whole number and d, h, m or s, like 4h"
            )
        when = (start or datetime.now(UTC)).astimezone(UTC)
        custom: dict[str, str] = {
            "start": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "duration": duration,
        }
        if timezone:
            custom["timezone"] = timezone
        response = await self._kibana.call(
            "POST",
            "/api/alerting/rule/{id}/snooze_schedule",
            path_params={"id": rule_id},
            space=space,
            idempotent=False,
            json={"schedule": {"custom": custom}},
        )
        return parse_body(SnoozeSchedule, response, space=space, key="schedule")

    async def unsnooze_rule(self, rule_id: str, schedule_id: str, *, space: str | None = None) -> None:
        """Not retried after it may have reached Kibana: a second DELETE answers 400."""
        await self._kibana.call(
            "DELETE",
            "/api/alerting/rule/{ruleId}/snooze_schedule/{scheduleId}",
            path_params={"ruleId": rule_id, "scheduleId": schedule_id},
            space=space,
            idempotent=False,
        )

    # --- maintenance windows (8.19+ / 9.1+, Platinum; `_find` from 9.2) -------------------

    async def create_maintenance_window(
        self,
        title: str,
        duration: str,
        *,
        kql: str | None = None,
        start: datetime | None = None,
        space: str | None = None,
    ) -> MaintenanceWindow:
        """A window from `start` (now) lasting `duration` (`<n>d|h|m|s`); `kql` scopes it to some alerts
        (`kibana.alert.rule.tags: "deploy"`). Never re-sent once it may have reached Kibana: a second
        POST makes a second window."""
        if not _SNOOZE_DURATION.fullmatch(duration):
            raise KibanaInvalidInput(f"{duration!r} is not a duration: use a whole number and d, h, m or s, like 2h")
        when = (start or datetime.now(UTC)).astimezone(UTC)
        body: dict[str, Any] = {
            "title": title,
            "enabled": True,
            "schedule": {
                "custom": {
                    "start": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "duration": duration,
                }
            },
        }
        if kql:
            body["scope"] = {"alerting": {"query": {"kql": kql}}}
        response = await self._kibana.call("POST", "/api/maintenance_window", space=space, idempotent=False, json=body)
        return parse_body(MaintenanceWindow, response, space=space)

    async def get_maintenance_window(self, window_id: str, *, space: str | None = None) -> MaintenanceWindow:
        response = await self._kibana.call(
            "GET", "/api/maintenance_window/{id}", path_params={"id": window_id}, space=space, idempotent=True
        )
        return parse_body(MaintenanceWindow, response, space=space)

    async def find_maintenance_windows(
        self, *, status: list[str] | None = None, space: str | None = None, per_page: int = 50
    ) -> MaintenanceWindowPage:
        query: dict[str, Any] = {"page": 1, "per_page": per_page}
        if status:
            query["status"] = status
        response = await self._kibana.call(
            "GET", "/api/maintenance_window/_find", space=space, idempotent=True, query=query
        )
        return parse_body(MaintenanceWindowPage, response, space=space)

    async def archive_maintenance_window(self, window_id: str, *, space: str | None = None) -> MaintenanceWindow:
        """Ends the window now (Kibana's archive: a running window stops at once). Archiving twice
        changes nothing more, so it is retried."""
        response = await self._kibana.call(
            "POST",
            "/api/maintenance_window/{id}/_archive",
            path_params={"id": window_id},
            space=space,
            idempotent=True,
        )
        return parse_body(MaintenanceWindow, response, space=space)

    # --- cases --------------------------------------------------------------------------

    async def create_case(self, case: CaseCreate, *, space: str | None = None) -> Case:
        """Never re-sent once it may have reached Kibana: after a `KibanaUnavailable` with
        `request_sent=True` the case may exist — look it up (e.g. by a de-duplication tag)."""
        response = await self._kibana.call("POST", "/api/cases", space=space, idempotent=False, json=case.to_body())
        return parse_body(Case, response, space=space)

    async def get_case(self, case_id: str, *, space: str | None = None) -> Case:
        response = await self._kibana.call(
            "GET", "/api/cases/{caseId}", path_params={"caseId": case_id}, space=space, idempotent=True
        )
        return parse_body(Case, response, space=space)

    async def find_cases(
        self,
        *,
        tags: list[str] | None = None,
        search: str | None = None,
        search_fields: list[str] | None = None,
        status: str | None = None,
        owner: str | None = None,
        space: str | None = None,
        per_page: int = 20,
        sort_field: str | None = None,
    ) -> CasePage:
        query: dict[str, Any] = {
            "tags": tags or None,
            "search": search,
            "searchFields": search_fields or None,
            "status": status,
            "owner": owner,
            "perPage": per_page,
            "sortField": sort_field,
        }
        response = await self._kibana.call("GET", "/api/cases/_find", space=space, idempotent=True, query=query)
        return parse_body(CasePage, response, space=space)

    async def get_case_configuration(self, owner: str, *, space: str | None = None) -> list[CaseConfiguration]:
        """The owner's case settings (an empty list when it has none)."""
        response = await self._kibana.call(
            "GET", "/api/cases/configure", space=space, idempotent=True, query={"owner": owner}
        )
        try:
            return [CaseConfiguration.model_validate(item) for item in response.json()]
        except (ValueError, TypeError) as exc:
            raise unreadable(response, exc, space=space) from None

    async def add_case_comment(
        self, case_id: str, comment: str | AlertAttachment, *, owner: CaseOwner | str, space: str | None = None
    ) -> Case:
        """Add a user comment (text), or alerts of one rule (an `AlertAttachment`, its `owner` the case's);
        returns the whole case (with its new `version`)."""
        if isinstance(comment, AlertAttachment):
            body = comment.model_copy(update={"owner": owner}).to_body()
        else:
            body = {"type": "user", "comment": comment, "owner": owner}
        response = await self._kibana.call(
            "POST",
            "/api/cases/{caseId}/comments",
            path_params={"caseId": case_id},
            space=space,
            idempotent=False,
            json=body,
        )
        return parse_body(Case, response, space=space)

    async def update_case(
        self, case_id: str, version: str, changes: dict[str, Any], *, space: str | None = None
    ) -> Case:
        """`PATCH /api/cases` for one case at its current `version` (409 `KibanaConflict` when it is
        stale: read the case again); returns the case with its new version."""
        body = {"cases": [{"id": case_id, "version": version, **changes}]}
        response = await self._kibana.call("PATCH", "/api/cases", space=space, idempotent=False, json=body)
        try:
            return Case.model_validate(response.json()[0])
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise unreadable(response, exc, space=space) from None

    async def find_case_activity(
        self, case_id: str, *, page: int = 1, per_page: int = ACTIVITY_PAGE, space: str | None = None
    ) -> CaseActivityPage:
        """One page of the case's comments, status, severity and assignee changes, oldest first."""
        query: dict[str, Any] = {"page": page, "perPage": per_page, "sortOrder": "asc", "types": list(ACTIVITY_TYPES)}
        response = await self._kibana.call(
            "GET",
            "/api/cases/{caseId}/user_actions/_find",
            path_params={"caseId": case_id},
            space=space,
            idempotent=True,
            query=query,
        )
        return parse_body(CaseActivityPage, response, space=space)

    # --- APM ----------------------------------------------------------------------------

    async def list_agent_configurations(self, *, space: str | None = None) -> list[AgentConfiguration]:
        response = await self._kibana.call(
            "GET", "/api/apm/settings/agent-configuration", space=space, idempotent=True, apm=True
        )
        try:
            payload = response.json()
            items = payload["configurations"] if isinstance(payload, dict) else payload
            return [AgentConfiguration.model_validate(item) for item in items]
        except (ValueError, KeyError, TypeError) as exc:
            raise unreadable(response, exc, space=space) from None

    async def put_agent_configuration(
        self,
        service_name: str,
        environment: str | None,
        settings: dict[str, str],
        *,
        overwrite: bool = False,
        space: str | None = None,
    ) -> None:
        """Create (or with `overwrite`, replace) the configuration of a service/environment.

        `environment=None` means every environment. Retried only with `overwrite`, the
        one form where sending it twice gives the same result.
        """
        service: dict[str, str] = {"name": service_name}
        if environment is not None:
            service["environment"] = environment
        await self._kibana.call(
            "PUT",
            "/api/apm/settings/agent-configuration",
            space=space,
            idempotent=overwrite,
            query={"overwrite": True if overwrite else None},
            json={"service": service, "settings": settings},
            apm=True,
        )

    async def create_agent_key(
        self,
        name: str,
        privileges: list[str],
        *,
        space: str | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> AgentKey:
        """Kibana creates the key as the caller, and Elasticsearch refuses it to API-key
        credentials: `basic_auth` (a Kibana user) replaces the bot's credentials for this call."""
        response = await self._kibana.call(
            "POST",
            "/api/apm/agent_keys",
            space=space,
            idempotent=False,
            json={"name": name, "privileges": privileges},
            apm=True,
            basic_auth=basic_auth,
        )
        return parse_body(AgentKey, response, space=space, key="agentKey")

    async def list_sourcemaps(
        self, *, space: str | None = None, page: int | None = None, per_page: int | None = None
    ) -> SourceMapPage:
        response = await self._kibana.call(
            "GET",
            "/api/apm/sourcemaps",
            space=space,
            idempotent=True,
            query={"page": page, "perPage": per_page},
            apm=True,
        )
        return parse_body(SourceMapPage, response, space=space)

    async def upload_sourcemap(
        self,
        *,
        service_name: str,
        service_version: str,
        bundle_filepath: str,
        sourcemap: bytes,
        space: str | None = None,
    ) -> SourceMapArtifact:
        """Upload as multipart/form-data; Kibana refuses bodies over 1 MiB with 413."""
        response = await self._kibana.call(
            "POST",
            "/api/apm/sourcemaps",
            space=space,
            idempotent=False,
            data={
                "service_name": service_name,
                "service_version": service_version,
                "bundle_filepath": bundle_filepath,
            },
            files={"sourcemap": ("sourcemap.json", sourcemap, "application/json")},
            apm=True,
        )
        return parse_body(SourceMapArtifact, response, space=space)

    async def delete_sourcemap(self, sourcemap_id: str, *, space: str | None = None) -> None:
        await self._kibana.call(
            "DELETE",
            "/api/apm/sourcemaps/{id}",
            path_params={"id": sourcemap_id},
            space=space,
            idempotent=False,
            apm=True,
        )

    # --- links into Kibana's UI ---------------------------------------------------------

    def rule_url(self, rule_id: str, *, space: str | None = None, public_base: str) -> str:
        """The rule's page in Kibana (Stack Management → Rules)."""
        return self._ui_url(public_base, space, "/app/management/insightsAndAlerting/triggersActions/rule", rule_id)

    def case_url(self, case_id: str, *, owner: str, space: str | None = None, public_base: str) -> str:
        """The case's page in the app that owns it (Stack Management, Observability, Security)."""
        return self._ui_url(public_base, space, _CASE_APP.get(owner, _CASE_APP["cases"]), case_id)

    def _ui_url(self, public_base: str, space: str | None, app_path: str, object_id: str) -> str:
        prefix = space_prefix(self._kibana.space(space))
        return f"{public_base.rstrip('/')}{prefix}{app_path}/{quote(object_id, safe='')}"
