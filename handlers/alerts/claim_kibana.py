"""Where Kibana has a public acknowledge, a claim acknowledges the alert there too; elsewhere it lives in Slack.

Kibana's only public acknowledge is the Security solution's (its source: `open_close_signals_route.ts`):
`POST /api/detection_engine/signals/status` with `{"signal_ids": [<kibana.alert.uuid>…], "status":
"acknowledged"}`, public in every 8.x and 9.x, on any licence, needing the Security alerts privilege `all`
in the space; `acknowledged` is a status from 7.15. A release sets them back to `open`. Security
detection rules are the `siem.*` rule types (their alerts are in `.alerts-security.alerts-<space>`).

Other alerts have no public acknowledge: Observability's workflow status left its UI in 8.0 and is set
only through internal routes, and alerting v2's acknowledge (9.x) is an internal route too.
"""

from __future__ import annotations

import logging

from bot.kibana.capabilities import parse_version
from bot.kibana.errors import KibanaError, KibanaUnavailable
from bot.services import Services
from bot.store.alert_claims import AlertClaim
from bot.store.alert_groups import AlertGroup
from handlers.alerting.target import Target
from handlers.shared.blocks import clip, escape

log = logging.getLogger(__name__)

SECURITY_RULE_TYPES = "siem."
ACKNOWLEDGED_SINCE = (7, 15, 0)
MAX_IDS = 100  # the firing alerts of a group acknowledged at once (the message names the newest)


def has_security_acknowledge(services: Services) -> bool:
    """Whether this Kibana takes `acknowledged` (True when its version is not known: Kibana's answer decides)."""
    version = parse_version(services.profile.current.info.version)
    return version is None or version >= ACKNOWLEDGED_SINCE


def _answered(error: KibanaError) -> str:
    said = clip(escape(error.message or str(error)), 200)
    if isinstance(error, KibanaUnavailable) or error.status_code is None:
        return f"Kibana did not answer in time or could not be reached: {said}"
    return f"it answered {error.status_code}: {said}"


def _not_told(error: KibanaError) -> str:
    if isinstance(error, KibanaUnavailable) and error.request_sent:
        return (
            f"; whether Kibana acknowledged it is not known ({_answered(error)}); the claim holds in Slack — "
            "check the alert's status in Kibana's Security alerts"
        )
    return f"; Kibana was not told ({_answered(error)}), so the claim lives in Slack only"


async def _security_alert_ids(services: Services, group: AlertGroup, target: Target) -> list[str]:
    if target.alert_uuid:
        return [target.alert_uuid]
    snapshot = await services.store.alert_group_snapshot(group.id, newest=MAX_IDS, changes=0)
    if snapshot is None:
        return []
    return [a.alert_uuid for a in snapshot.newest if a.recovered_at is None and a.alert_uuid]


async def acknowledge(services: Services, group: AlertGroup, target: Target, user_id: str) -> str:
    """Acknowledge the claimed Security alerts in Kibana: what to add to the claim's sentence ("" for
    alerts of other rule types, which have no public acknowledge)."""
    if not has_security_acknowledge(services):
        return ""
    try:
        rule = await services.kibana.get_rule(group.rule_id, space=group.space)
    except KibanaError as error:
        log.info("could not read rule %s to know whether to acknowledge its alerts: %s", group.rule_id, error)
        return _not_told(error)
    if not rule.rule_type_id.startswith(SECURITY_RULE_TYPES):
        return ""
    ids = await _security_alert_ids(services, group, target)
    if not ids:
        return ""
    try:
        await services.kibana.set_security_alerts_status(ids, "acknowledged", space=group.space)
    except KibanaError as error:
        return _not_told(error)
    await services.store.note_claim_kibana_ack(group.id, user_id, ids)
    return " and acknowledged it in Kibana's Security alerts"


async def reopen(services: Services, released: AlertClaim, target: Target) -> str:
    """Set the Security alerts the claim acknowledged back to open: what to add to the release's sentence."""
    if not released.kibana_ack:
        return ""
    try:
        await services.kibana.set_security_alerts_status(list(released.kibana_ack), "open", space=target.space)
    except KibanaError as error:
        return f"; Kibana may still show it acknowledged ({_answered(error)}): set it to open in its Security alerts"
    return "; it is open again in Kibana's Security alerts"
