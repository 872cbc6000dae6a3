"""Maintenance windows as Kibana's public `/api/maintenance_window` routes answer them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from ._base import KibanaResponse
from .alerting import SnoozeCustomSchedule

WindowStatus = Literal["running", "upcoming", "finished", "archived"]
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class WindowQuery(KibanaResponse):
    kql: str


class WindowAlertingScope(KibanaResponse):
    query: WindowQuery


class WindowScope(KibanaResponse):
    alerting: WindowAlertingScope


class WindowSchedule(KibanaResponse):
    custom: SnoozeCustomSchedule


class MaintenanceWindow(KibanaResponse):
    """One window: while it runs, Kibana sends no notification of the alerts it covers."""

    id: str
    title: str
    enabled: bool = True
    status: WindowStatus
    schedule: WindowSchedule | None = None
    scope: WindowScope | None = None
    created_by: str | None = None
    created_at: datetime | None = None

    @property
    def kql(self) -> str | None:
        return self.scope.alerting.query.kql if self.scope is not None else None

    @property
    def start(self) -> datetime | None:
        return self.schedule.custom.start if self.schedule is not None else None

    @property
    def end(self) -> datetime | None:
        """The end of its (first) event: start + duration; None when Kibana did not say."""
        if self.schedule is None or self.schedule.custom.recurring:
            return None
        duration = self.schedule.custom.duration
        number, unit = duration.rstrip("smhd"), duration[len(duration.rstrip("smhd")) :]
        if not number.isdigit() or unit not in _UNIT:
            return None
        return self.schedule.custom.start + timedelta(seconds=int(number) * _UNIT[unit])


class MaintenanceWindowPage(KibanaResponse):
    """`GET /api/maintenance_window/_find` (9.2+)."""

    page: int
    per_page: int
    total: int
    data: list[MaintenanceWindow]
