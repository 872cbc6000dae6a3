"""Whether one Kibana offers maintenance windows to the bot, and if not, what it would need.

Pure, like `capabilities.derive`, and read from the same `KibanaInfo` (behaviours.md §11 and
Kibana's source, `alerting/server/routes/maintenance_window/apis/external/`):

- the public routes (`POST /api/maintenance_window`, `GET|DELETE …/{id}`, `POST …/{id}/_archive`)
  exist from 8.19 on 8.x and from 9.1 on 9.x; `GET …/_find` only from 9.2;
- every one of them needs a Platinum licence or better (`ensureLicenseForMaintenanceWindow`: 403).
"""

from __future__ import annotations

from dataclasses import dataclass

from .capabilities import KibanaInfo, Version, parse_version

PLATINUM_OR_BETTER = frozenset({"platinum", "enterprise", "trial"})


def has_maintenance_window_api(version: Version) -> bool:
    major, minor, _ = version
    if major == 8:
        return minor >= 19
    if major == 9:
        return minor >= 1
    return major > 9


def lists_maintenance_windows(version: Version) -> bool:
    """`GET /api/maintenance_window/_find`: `availability.since: '9.2.0'`."""
    return version >= (9, 2, 0)


@dataclass(frozen=True)
class MaintenanceSupport:
    """`usable`: start and end windows; `listing`: list them. `why` says what is missing (None: nothing).
    When the bot cannot tell (version or licence unknown), it assumes they work and Kibana's answer decides."""

    usable: bool = True
    listing: bool = True
    why: str | None = None
    listing_why: str | None = None


def maintenance_support(info: KibanaInfo) -> MaintenanceSupport:
    version = parse_version(info.version)
    licence = (info.license_type or "").lower() or None
    if version is not None and not has_maintenance_window_api(version):
        return MaintenanceSupport(
            usable=False,
            listing=False,
            why=(
                f"Kibana {info.version} has no public maintenance-window API: it needs Kibana 8.19 or later on 8.x, "
                "9.1 or later on 9.x, with a Platinum licence or better"
            ),
        )
    if licence is not None and licence not in PLATINUM_OR_BETTER:
        return MaintenanceSupport(
            usable=False,
            listing=False,
            why=f"Kibana's maintenance windows need a Platinum licence or better, and this Kibana has {licence}",
        )
    if licence is not None and (info.license_status or "active").lower() != "active":
        return MaintenanceSupport(
            usable=False,
            listing=False,
            why=f"the {licence} licence is {info.license_status}, and maintenance windows need an active Platinum one",
        )
    if version is not None and not lists_maintenance_windows(version):
        return MaintenanceSupport(
            listing=False,
            listing_why=(
                f"Kibana {info.version} cannot list maintenance windows through its public API (it can from 9.2)"
            ),
        )
    return MaintenanceSupport()
