"""Which Kibana feature privilege a call needs, said as Kibana's role editor says it.

Kibana grants feature privileges per space, `read` or `all`: reading (GET) needs `read`, anything
else `all`. The feature follows the API: `/api/alerting` and `/api/maintenance_window` are Rules
(Stack Management → Rules, plus the rule's own solution feature: Observability, Security …),
`/api/cases` Cases, `/api/apm` APM (and User Experience), `/api/detection_engine` Security.
"""

from __future__ import annotations

from dataclasses import dataclass

FEATURES = (
    ("/api/alerting/", "Rules"),
    ("/api/maintenance_window", "Maintenance Windows"),
    ("/api/cases", "Cases"),
    ("/api/apm/", "APM and User Experience"),
    ("/api/detection_engine/", "Security"),
)


@dataclass(frozen=True)
class Privilege:
    feature: str
    level: str  # "read" | "all"
    space: str

    def sentence(self) -> str:
        where = "in every space" if self.feature.startswith("APM") else f"in space `{self.space}`"
        return f"*{self.feature}: {self.level}* {where}"


def needed(method: str, route: str, space: str) -> Privilege:
    """The privilege a call of `method route` (the route template, without the space) needs in `space`."""
    feature = next((name for prefix, name in FEATURES if route.startswith(prefix)), "Kibana")
    return Privilege(feature, "read" if method == "GET" else "all", space)
