"""Where the poller reads a space's alerts from, built on what Kibana writes (read in its source).

Kibana's alerting framework stamps every document of a rule run with the run's START
(`alerts_client.ts` `persistAlerts`) and writes them when the run ENDS, so a run that took 20 s
writes documents 20 s "in the past"; untracking (a rule disabled with untrack, a bulk untrack) is an
update-by-query that changes only `kibana.alert.status`, `kibana.alert.end` and
`kibana.alert.time_range` (`setAlertsToUntracked`, "now" as `end`). A read position in `@timestamp`
order misses both once other rules have moved it on. What does not depend on that order:

- **the runs of one rule never overlap** (Task Manager runs a rule's task once at a time), so every
  document a rule writes after the newest run of it the poller read is stamped later than that run:
  per rule, "after its newest run read" (`@timestamp` > that run's start) misses nothing, however
  long runs take. The run just read is read again for SEARCHABLE_WITHIN (a write is searchable
  within Elasticsearch's refresh interval, so one run's documents may show up in two searches);
- **rules with no run read lately** (new rules, rules run hourly, all of them after a restart or on
  a replica that has not polled the space): documents of runs that started at most RUN_ALLOWANCE
  before the space's watermark (the newest `@timestamp` read, shared by the replicas in the store).
  Kibana cancels a rule run after its timeout (5 minutes by default): a longer run would have ended,
  and been read, before any document that far past its start was;
- **untracked alerts**: `kibana.alert.end` at or after the moment this replica's previous pass of
  the space began, less UNTRACKING_TAKES (the update-by-query stamps `end` with the moment it starts,
  and goes through many alerts in batches): an untracking done later is stamped later; one done
  before was searchable when that pass began, and that pass read it. Without a previous pass, from
  RUN_ALLOWANCE before the watermark, as above.

Both hold as long as a pass (a read of the space, over one tick or several) takes less than
RUN_ALLOWANCE. `ReadFrom` is that query; `SpaceReading` is what one replica remembers of a space (the
newest run read of each rule, the pass under way); what is read again is recognised downstream.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

RUN_ALLOWANCE = timedelta(minutes=10)  # the longest rule run (Kibana's default run timeout is 5 minutes)
SEARCHABLE_WITHIN = timedelta(seconds=5)  # refresh interval (1 s) and the clocks of Kibana's nodes
UNTRACKING_TAKES = timedelta(minutes=1)  # an untracking's update-by-query, over many alerts
MAX_RULE_CLAUSES = 64  # per search; more rules are read in groups (from the oldest run of a group)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class RuleRun:
    """The newest run of a rule read: its start (the `@timestamp` of its documents), and whether its
    documents are read again (some may not have been searchable yet)."""

    started_ms: int
    again: bool = False


@dataclass(frozen=True)
class ReadFrom:
    """The part of a space's search that says which documents are new to the poller."""

    rules: Mapping[str, RuleRun] = field(default_factory=dict)
    others_from_ms: int = 0  # documents of other rules: runs that started at or after this
    untracked_from_ms: int = 0  # untracked alerts: `kibana.alert.end` at or after this

    def query(self) -> dict[str, Any]:
        """One `bool` clause: any of its `should` makes a document worth reading."""
        should: list[dict[str, Any]] = [self._rules_clause(group) for group in self.groups()]
        others: dict[str, Any] = {"filter": [{"range": {"@timestamp": {"gte": self.others_from_ms}}}]}
        if self.rules:
            others["must_not"] = [{"terms": {"kibana.alert.rule.uuid": sorted(self.rules)}}]
        should.append({"bool": others})
        untracked = [
            {"term": {"kibana.alert.status": "untracked"}},
            {"range": {"kibana.alert.end": {"gte": self.untracked_from_ms}}},
        ]
        should.append({"bool": {"filter": untracked}})
        return {"bool": {"should": should, "minimum_should_match": 1}}

    def groups(self) -> Iterator[list[tuple[str, RuleRun]]]:
        """The rules in at most MAX_RULE_CLAUSES groups of neighbouring runs, oldest first."""
        ordered = sorted(self.rules.items(), key=lambda item: (item[1].started_ms, item[0]))
        size = max(1, -(-len(ordered) // MAX_RULE_CLAUSES))
        for first in range(0, len(ordered), size):
            yield ordered[first : first + size]

    @staticmethod
    def _rules_clause(group: Sequence[tuple[str, RuleRun]]) -> dict[str, Any]:
        """Documents of these rules after their runs read: after the group's oldest run (a later run of
        another rule in the group is read again, never missed)."""
        oldest = min(run.started_ms for _, run in group)
        again = any(run.again for _, run in group if run.started_ms == oldest)
        ids = [rule for rule, _ in group]
        which = (
            {"term": {"kibana.alert.rule.uuid": ids[0]}}
            if len(ids) == 1
            else {"terms": {"kibana.alert.rule.uuid": ids}}
        )
        return {"bool": {"filter": [which, {"range": {"@timestamp": {"gte" if again else "gt": oldest}}}]}}


@dataclass
class Pass:
    """A read of a space from one `ReadFrom`, page after page, over one tick or several (a tick reads
    at most so many pages); `after` is where the next page starts."""

    read_from: ReadFrom
    began_at_ms: int  # the space's watermark when the pass began
    after: tuple[int, str] | None = None  # sort values (@timestamp, kibana.alert.uuid) of the last document done


@dataclass
class _Run:
    started_ms: int
    again_until: datetime | None  # read again until then; None: until the pass under way is done


class SpaceReading:
    """What one replica remembers of one space: the newest run read of each rule and the pass under way."""

    def __init__(self, *, allowance: timedelta = RUN_ALLOWANCE, searchable_within: timedelta = SEARCHABLE_WITHIN):
        self.allowance_ms = int(allowance.total_seconds() * 1000)
        self.untracking_ms = int(UNTRACKING_TAKES.total_seconds() * 1000)
        self.searchable_within = searchable_within
        self.runs: dict[str, _Run] = {}
        self.previous_began_ms: int | None = None  # the watermark when this replica's previous pass began
        self.current: Pass | None = None

    def pass_from(self, watermark_ms: int, floor_ms: int, now: datetime) -> Pass:
        """The pass under way, or a new one: `watermark_ms` is the space's (the store's), `floor_ms` the
        moment before which nothing is read (the first subscription of the space)."""
        if self.current is not None:
            return self.current
        others_from = untracked_from = max(floor_ms, watermark_ms - self.allowance_ms)
        if self.previous_began_ms is not None:  # untracked since this replica's previous pass began
            untracked_from = max(untracked_from, self.previous_began_ms - self.untracking_ms)
        for rule in [r for r, run in self.runs.items() if run.started_ms < others_from]:
            del self.runs[rule]  # the others' clause covers them now
        rules = {
            rule: RuleRun(run.started_ms, again=run.again_until is None or now < run.again_until)
            for rule, run in self.runs.items()
        }
        self.current = Pass(ReadFrom(rules, others_from, untracked_from), began_at_ms=watermark_ms)
        return self.current

    def read(self, rule: str, timestamp_ms: int) -> None:
        """A document of `rule` stamped `timestamp_ms` went through (recorded, or reported unreadable)."""
        known = self.runs.get(rule)
        if known is None or timestamp_ms > known.started_ms:
            self.runs[rule] = _Run(timestamp_ms, again_until=None)

    def done(self, now: datetime) -> None:
        """The pass under way read everything it had to: the next one starts afresh."""
        if self.current is None:
            return
        self.previous_began_ms = self.current.began_at_ms
        self.current = None
        for run in self.runs.values():
            if run.again_until is None:
                run.again_until = now + self.searchable_within
