"""How Kibana's alerting framework writes alerts-as-data, for tests, benchmarks and the demo.

Read in Kibana's source (x-pack/plugins/alerting/server/alerts_client):

- a rule run stamps every document it writes with the run's START (`persistAlerts`:
  `currentTime = this.startedAtString ?? new Date()`) and writes them all when it ENDS, so a run
  that took 20 s writes documents 20 s "in the past". A new alert is `event.action` open, an
  ongoing one active, a recovery close with `kibana.alert.end` (also the run's start); a recovered
  alert's document is not written again by later runs;
- untracking (a rule disabled with `untrack`, a bulk untrack) is an update-by-query
  (`setAlertsToUntracked`) whose script changes only `kibana.alert.status` (→ untracked),
  `kibana.alert.end` and `kibana.alert.time_range.lte` (both "now", when it is made): `@timestamp`,
  `event.action` and the rest keep what the last run wrote. It runs while the disable request is
  being answered, not at the rule's next run.

Every method returns once the documents are written (searchable). `at` is when the run started
(the stamp); without it the run ends now and started `took` ago (`took` defaults to the fake's
`run_duration`, 0). `run_rules` is the same run in real time: it waits `took`, then writes
documents stamped with the moment it began.
"""

from __future__ import annotations

import asyncio
import uuid as uuid_module
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from devkit.fake_kibana.maintenance_windows import active_ids

from .alerts import AlertDoc


class AlertWrites:
    """Mixed into FakeElasticsearch: its alert documents, written as Kibana writes them."""

    alerts: dict[str, AlertDoc]
    run_duration: timedelta
    _active_ids: dict[tuple[str, str, str], str]  # (rule, alert id, space) -> uuid of its active document

    def _run_start(self, at: datetime | None, took: timedelta | None) -> datetime:
        if at is not None:
            return at
        return datetime.now(UTC) - (self.run_duration if took is None else took)

    # ------------------------------------------------------------------ one alert
    def add_alert(
        self,
        *,
        rule_id: str,
        instance_id: str,
        rule_name: str = "CPU usage above 90%",
        space: str = "default",
        tags: Iterable[str] = (),
        rule_type_id: str = ".index-threshold",
        consumer: str = "alerts",
        reason: str | None = None,
        at: datetime | None = None,
        took: timedelta | None = None,
        uuid: str | None = None,
        run: str | None = None,
        maintenance_window_ids: Iterable[str] = (),
        evaluation: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A rule run that finds `instance_id`: a new active alert (`event.action` open), or, when the
        rule already has this alert active, the next run that still sees it (`event.action` active,
        `@timestamp` the new run's start). Returns the stored document."""
        moment = self._run_start(at, took)
        run = run or str(uuid_module.uuid4())
        current = self._active(rule_id, instance_id, space)
        if current is not None:
            current.event_action, current.timestamp, current.execution_uuid = "active", moment, run
            current.duration_us = _micros(moment - current.start)
            if reason is not None:
                current.reason = reason
            if evaluation is not None:
                current.evaluation = dict(evaluation)
            return current.source()
        alert = AlertDoc(
            uuid=uuid or str(uuid_module.uuid4()),
            instance_id=instance_id,
            rule_uuid=rule_id,
            rule_name=rule_name,
            rule_type_id=rule_type_id,
            consumer=consumer,
            space=space,
            tags=list(tags),
            reason=reason or f"{instance_id} is above the threshold of rule {rule_name}",
            start=moment,
            timestamp=moment,
            execution_uuid=run,
            maintenance_window_ids=list(maintenance_window_ids),
            evaluation=dict(evaluation or {}),
        )
        self.alerts[alert.uuid] = alert
        self._active_ids[(rule_id, instance_id, space)] = alert.uuid
        return alert.source()

    def recover(
        self,
        *,
        rule_id: str,
        instance_id: str,
        space: str = "default",
        at: datetime | None = None,
        took: timedelta | None = None,
        run: str | None = None,
    ) -> dict[str, Any]:
        """The run in which the alert recovers: status recovered, `event.action` close, `kibana.alert.end`
        and `@timestamp` the run's start."""
        alert = self._must_be_active(rule_id, instance_id, space)
        moment = self._run_start(at, took)
        alert.status, alert.event_action, alert.end, alert.timestamp = "recovered", "close", moment, moment
        alert.execution_uuid, alert.duration_us = run or str(uuid_module.uuid4()), _micros(moment - alert.start)
        del self._active_ids[(rule_id, instance_id, space)]
        return alert.source()

    def untrack(
        self, *, rule_id: str, instance_id: str, space: str = "default", at: datetime | None = None
    ) -> dict[str, Any]:
        """The alert untracked by Kibana's update-by-query: status untracked, `kibana.alert.end` and
        `kibana.alert.time_range` end `at` (default now); nothing else changes."""
        alert = self._must_be_active(rule_id, instance_id, space)
        alert.status, alert.end = "untracked", at or datetime.now(UTC)
        del self._active_ids[(rule_id, instance_id, space)]
        return alert.source()

    def untrack_rule(self, rule_id: str, *, space: str = "default", at: datetime | None = None) -> int:
        """Every active alert of the rule untracked (what disabling it with `untrack` does); returns how many."""
        moment = at or datetime.now(UTC)
        ids = [instance for (rule, instance, where) in self._active_ids if (rule, where) == (rule_id, space)]
        for instance in ids:
            self.untrack(rule_id=rule_id, instance_id=instance, space=space, at=moment)
        return len(ids)

    def _active(self, rule_id: str, instance_id: str, space: str) -> AlertDoc | None:
        found = self._active_ids.get((rule_id, instance_id, space))
        return self.alerts[found] if found is not None else None

    def _must_be_active(self, rule_id: str, instance_id: str, space: str) -> AlertDoc:
        alert = self._active(rule_id, instance_id, space)
        if alert is None:
            raise KeyError(f"no active alert {instance_id!r} of rule {rule_id!r} in space {space!r}")
        return alert

    def alert(self, rule_id: str, instance_id: str, space: str = "default") -> dict[str, Any]:
        """The latest document of that alert (KeyError when there is none)."""
        found = [
            a for a in self.alerts.values() if (a.rule_uuid, a.instance_id, a.space) == (rule_id, instance_id, space)
        ]
        if not found:
            raise KeyError(f"no alert {instance_id!r} of rule {rule_id!r} in space {space!r}")
        return max(found, key=lambda a: (a.start, a.timestamp)).source()

    # ------------------------------------------------------------------ the fake Kibana's rules
    def follow(self, fake_kibana: Any) -> None:
        """Untrack as Kibana does: when `fake_kibana` (a FakeKibana) disables a rule with `untrack`, its
        active alerts are untracked here at once, while the request is answered."""
        fake_kibana.state.untrack_listeners.append(self._untracked_in_kibana)

    def _untracked_in_kibana(self, rule: Any, alert_ids: list[str]) -> None:
        moment = datetime.now(UTC)
        for instance in alert_ids:
            if self._active(rule.id, instance, rule.space) is not None:
                self.untrack(rule_id=rule.id, instance_id=instance, space=rule.space, at=moment)

    def alerts_from(self, fake_kibana: Any, *, at: datetime | None = None, took: timedelta | None = None) -> int:
        """One rule run for every rule of `fake_kibana` (a FakeKibana): its active alerts become
        (or stay) active alert documents, and alerts no longer active recover. A disabled rule does not
        run; alerts it untracked (and that `follow` did not untrack already) are untracked. Returns how
        many documents were written."""
        start = self._run_start(at, took)
        return sum(self._run(rule, start, fake_kibana) for rule in fake_kibana.rules.values())

    async def run_rules(self, fake_kibana: Any, *, took: timedelta | None = None) -> int:
        """`alerts_from` in real time: the runs begin now, take `took` (default `run_duration`) and
        write their documents, stamped with the moment they began, when they end."""
        began = datetime.now(UTC)
        await asyncio.sleep((self.run_duration if took is None else took).total_seconds())
        return self.alerts_from(fake_kibana, at=began)

    def run_rule(
        self,
        fake_kibana: Any,
        rule_id: str,
        *,
        space: str = "default",
        at: datetime | None = None,
        took: timedelta | None = None,
    ) -> int:
        """One run of one rule of `fake_kibana`, as `alerts_from` runs every rule."""
        return self._run(fake_kibana.stored_rule(rule_id, space), self._run_start(at, took), fake_kibana)

    def fire(
        self,
        fake_kibana: Any,
        rule_id: str,
        *alert_ids: str,
        space: str = "default",
        at: datetime | None = None,
        took: timedelta | None = None,
    ) -> int:
        """The fake Kibana rule finds `alert_ids` (besides the ones already active) and runs once: new
        alert documents for them, the active ones written again. Returns how many documents were written."""
        rule = fake_kibana.stored_rule(rule_id, space)
        fake_kibana.set_active_alerts(rule_id, [*rule.active_alerts, *alert_ids], space=space)
        return self._run(rule, self._run_start(at, took), fake_kibana)

    def resolve(
        self,
        fake_kibana: Any,
        rule_id: str,
        *alert_ids: str,
        space: str = "default",
        at: datetime | None = None,
        took: timedelta | None = None,
    ) -> int:
        """The fake Kibana rule no longer finds `alert_ids` (all its alerts when none is named) and runs
        once: those alerts recover. Returns how many documents were written."""
        rule = fake_kibana.stored_rule(rule_id, space)
        kept = [a for a in rule.active_alerts if alert_ids and a not in alert_ids]
        fake_kibana.set_active_alerts(rule_id, kept, space=space)
        return self._run(rule, self._run_start(at, took), fake_kibana)

    def _run(self, rule: Any, start: datetime, fake_kibana: Any = None) -> int:
        written = 0
        untracked = list(getattr(rule, "untracked_alerts", []))
        if not rule.enabled:  # a disabled rule does not run; its untracking (disable --untrack) shows
            for instance in untracked:
                if self._active(rule.id, instance, rule.space) is not None:
                    self.untrack(rule_id=rule.id, instance_id=instance, space=rule.space)
                    written += 1
            return written
        run = str(uuid_module.uuid4())
        # Kibana stamps a new alert with the maintenance windows running over it (alerts_client).
        state = getattr(fake_kibana, "state", None)
        windows = active_ids(state, rule.space, rule.tags, start) if state is not None else []
        for instance in rule.active_alerts:
            self.add_alert(
                maintenance_window_ids=windows,
                evaluation=evaluation_of(rule),
                rule_id=rule.id,
                instance_id=instance,
                rule_name=rule.name,
                space=rule.space,
                tags=rule.tags,
                rule_type_id=rule.rule_type_id,
                consumer=rule.consumer,
                at=start,
                run=run,
            )
            written += 1
        for rule_id, instance, space in list(self._active_ids):
            if (rule_id, space) != (rule.id, rule.space) or instance in rule.active_alerts:
                continue
            if instance in untracked:
                self.untrack(rule_id=rule.id, instance_id=instance, space=rule.space)
            else:
                self.recover(rule_id=rule.id, instance_id=instance, space=rule.space, at=start, run=run)
            written += 1
        return written


def _micros(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1_000_000))


COMPARATORS = {">": "greater than", ">=": "greater than or equal to", "<": "less than", "<=": "less than or equal to"}


def evaluation_of(rule: Any) -> dict[str, Any] | None:
    """`kibana.alert.evaluation.*` as Kibana's index-threshold rule type writes them (value as a string,
    the threshold as a number, the condition in words). The fake measures its threshold plus 5%;
    `rule.params["fakeMeasured"]`, when a test sets it, is what it measured. Other rule types: none."""
    params = getattr(rule, "params", None) or {}
    if getattr(rule, "rule_type_id", "") != ".index-threshold" or not params.get("threshold"):
        return None
    threshold = params["threshold"] if isinstance(params["threshold"], list) else [params["threshold"]]
    first = threshold[0]
    measured = params.get("fakeMeasured", round(float(first) * 1.05, 4))
    field = f"{params.get('aggType', 'count')}({params.get('aggField', '')})" if params.get("aggField") else "count"
    words = COMPARATORS.get(str(params.get("thresholdComparator", ">")), "greater than")
    return {
        "value": str(measured),
        "threshold": first if len(threshold) == 1 else threshold,
        "conditions": f"{field} is {words} {first}",
    }
