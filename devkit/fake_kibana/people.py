"""People with their own API keys, and the Kibana feature privileges each holds in each space.

Real Kibana decides a 403 from the role of the key's owner: a feature privilege (`read` or `all`)
per space, for Rules, Cases and APM (behaviours.md §4, §8). The fake keeps, for each person, a table
{space: {feature: "read" | "all"}}; an operation needs its feature at its level in the space called.
A missing privilege is answered with the same body as `KibanaState.forbid` (the handler's own
message: `Unauthorized by "alerts" to muteAlert ".index-threshold" rule`, …).

The bot's own key (`api_keys` of `FakeKibana`) keeps every privilege, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FEATURES = ("rules", "cases", "apm", "security", "maintenanceWindow")
LEVELS = ("read", "all")

# operation (state.OPERATIONS) → (feature, least level)
NEEDS: dict[str, tuple[str, str]] = {
    "get": ("rules", "read"),
    "find": ("rules", "read"),
    "health": ("rules", "read"),
    "getCase": ("cases", "read"),
    "findCases": ("cases", "read"),
    "findUserActions": ("cases", "read"),
    "getAgentConfigurations": ("apm", "read"),
    "getSourceMaps": ("apm", "read"),
    "readMaintenanceWindow": ("maintenanceWindow", "read"),
    "writeMaintenanceWindow": ("maintenanceWindow", "all"),
}


def needs(operation: str) -> tuple[str, str]:
    """The feature and the least level `operation` needs (writes need `all`)."""
    if operation in NEEDS:
        return NEEDS[operation]
    if operation.endswith(("Case", "Cases", "Comment")):
        return "cases", "all"
    if operation == "setAlertsStatus":
        return "security", "all"
    if operation.endswith(("Key", "Configuration", "SourceMap")):
        return "apm", "all"
    return "rules", "all"


@dataclass
class Person:
    username: str
    privileges: dict[str, dict[str, str]] = field(default_factory=dict)  # space → feature → level

    def allows(self, operation: str, space: str) -> bool:
        feature, level = needs(operation)
        held = self.privileges.get(space, self.privileges.get("*", {})).get(feature)
        return held == "all" or (held == "read" and level == "read")


def checked_privileges(privileges: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for space, features in privileges.items():
        for feature, level in features.items():
            if feature not in FEATURES or level not in LEVELS:
                raise ValueError(f"privileges are {{space: {{{'|'.join(FEATURES)}: read|all}}}}, not {feature}={level}")
        table[space] = dict(features)
    return table
