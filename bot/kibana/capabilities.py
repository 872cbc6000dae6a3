"""What one Kibana supports, derived from its version, its licence and the bot's credentials.

Pure: `derive(info)` reads a `KibanaInfo` (from `GET /api/status` and `GET /api/licensing/info`)
and says which of the bot's features this Kibana lacks, and why. The facts (behaviours.md §11):

- the public snooze API (`…/snooze_schedule`) exists from 8.19.0 on 8.x and from 9.1.0 on 9.x; 9.0
  has none (Kibana's router answers a bare 404);
- from 9.3.0, muting an alert checks that the alert exists (404 for one Kibana has no document of);
- from 9.5.0, an alert can be snoozed until a time or until its severity changes (`…/_snooze`);
- the Webhook connector (like the Slack connectors) needs a Gold licence or better, and an active one;
- APM agent keys are created as the caller: Elasticsearch refuses them to API-key credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GOLD_OR_BETTER = frozenset({"gold", "platinum", "enterprise", "trial"})
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")

Version = tuple[int, int, int]


def parse_version(text: str | None) -> Version | None:
    """`"8.19.2"` → (8, 19, 2); also `"9.1.0-SNAPSHOT"`; None when it is not a version."""
    found = _VERSION.match((text or "").strip())
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)


def has_snooze_api(version: Version) -> bool:
    """8.19+ on 8.x, 9.1+ on 9.x, every later major; absent from 9.0 and before 8.19."""
    major, minor, _ = version
    if major == 8:
        return minor >= 19
    if major == 9:
        return minor >= 1
    return major > 9


def has_alert_snooze_api(version: Version) -> bool:
    """Kibana 9.5's per-alert snooze (`…/alert/{alert_id}/_snooze` with `expires_at` and `conditions`)."""
    return version >= (9, 5, 0)


def validates_muted_alerts(version: Version) -> bool:
    """From 9.3, `_mute` of an alert Kibana has no document of answers 404."""
    return version >= (9, 3, 0)


@dataclass(frozen=True)
class KibanaInfo:
    """What the bot read about its Kibana. None: not known (the call failed or gave nothing)."""

    version: str | None = None
    license_type: str | None = None
    license_status: str | None = None
    auth_scheme: str = "ApiKey"  # the bot's credentials: "ApiKey" | "Basic" | "none"
    agent_key_credentials: bool = False  # KIBANA_AGENT_KEY_USERNAME/PASSWORD are set
    error: str | None = None  # why version or licence could not be read

    def summary(self) -> str:
        version = f"Kibana {self.version}" if self.version else "Kibana version unknown"
        if self.license_type:
            licence = f"{self.license_type} licence ({self.license_status or 'status unknown'})"
        else:
            licence = "licence unknown"
        return f"{version}, {licence}"


@dataclass(frozen=True)
class Missing:
    feature: str
    why: str

    def line(self) -> str:
        return f"{self.feature}: not available — {self.why}"


@dataclass(frozen=True)
class Capabilities:
    """Each flag is True when the feature works, or when the bot cannot tell (then Kibana's answer
    decides, and the error sentences explain it)."""

    info: KibanaInfo = field(default_factory=KibanaInfo)
    snooze: bool = True
    mute_validates_alerts: bool = True
    # Kibana ends timed mutes itself (9.5+); before, the bot unmutes at the end. Unknown version: the bot does.
    alert_snooze: bool = False
    webhook_connector: bool = True
    agent_keys: bool = True
    missing: tuple[Missing, ...] = ()


AGENT_KEY_SETTINGS = "KIBANA_AGENT_KEY_USERNAME and KIBANA_AGENT_KEY_PASSWORD"


def derive(info: KibanaInfo) -> Capabilities:
    version = parse_version(info.version)
    missing: list[Missing] = []
    snooze = version is None or has_snooze_api(version)
    if not snooze:
        missing.append(
            Missing(
                "snooze",
                f"Kibana {info.version} has no snooze API (it exists from 8.19 on 8.x and from 9.1 on 9.x); "
                "use mute-all or disable instead",
            )
        )
    webhook = True
    if info.license_type is not None:
        licence = info.license_type.lower()
        if licence not in GOLD_OR_BETTER:
            webhook = False
            missing.append(
                Missing(
                    "alert messages",
                    f"Kibana's Webhook connector needs a Gold licence or better, this Kibana has {licence}; "
                    "channels get alerts by polling alerts-as-data instead "
                    "(`alerts subscribe`, with ELASTICSEARCH_URL)",
                )
            )
        elif (info.license_status or "active").lower() != "active":
            webhook = False
            missing.append(
                Missing(
                    "alert messages",
                    f"the {licence} licence is {info.license_status}, and Kibana's Webhook connector needs an "
                    "active Gold licence or better",
                )
            )
    agent_keys = info.auth_scheme != "ApiKey" or info.agent_key_credentials
    if not agent_keys:
        missing.append(
            Missing(
                "APM agent keys",
                "the bot uses an API key, and Elasticsearch refuses agent keys to API-key credentials; "
                f"set {AGENT_KEY_SETTINGS} (a Kibana user) for `apm key create`",
            )
        )
    return Capabilities(
        info=info,
        snooze=snooze,
        mute_validates_alerts=version is None or validates_muted_alerts(version),
        alert_snooze=version is not None and has_alert_snooze_api(version),
        webhook_connector=webhook,
        agent_keys=agent_keys,
        missing=tuple(missing),
    )
