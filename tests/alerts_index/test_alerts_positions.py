"""Where the poller reads a space from (bot.alerts_index.positions): the query, and what one replica
remembers, against the fake Elasticsearch writing as Kibana writes (run start stamps, untracking)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import AsyncElasticsearch

from bot.alerts_index import Interest, ReadFrom, RuleRun, SpaceReading, search_alert_changes
from bot.alerts_index.positions import MAX_RULE_CLAUSES, RUN_ALLOWANCE, UNTRACKING_TAKES, millis
from devkit.fake_elasticsearch import FakeElasticsearch

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALL = Interest.of(everything=True)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
async def fake_es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
async def es(fake_es: FakeElasticsearch) -> AsyncIterator[AsyncElasticsearch]:
    async with AsyncElasticsearch(fake_es.url, api_key=fake_es.api_key, max_retries=0) as client:
        yield client


async def new_to(es: AsyncElasticsearch, read_from: ReadFrom) -> list[tuple[str, str]]:
    found = await search_alert_changes(es, space="default", interest=ALL, cursor=None, read_from=read_from)
    return [(c.instance_id, c.status) for c in found.changes]


# ------------------------------------------------------------------------ the query
def test_the_query_reads_each_rule_after_its_newest_run_others_lately_and_untracking_by_its_end() -> None:
    read_from = ReadFrom({"r1": RuleRun(1000), "r2": RuleRun(2000, again=True)}, 500, 700)
    assert read_from.query() == {
        "bool": {
            "should": [
                {
                    "bool": {
                        "filter": [
                            {"term": {"kibana.alert.rule.uuid": "r1"}},
                            {"range": {"@timestamp": {"gt": 1000}}},
                        ]
                    }
                },
                {
                    "bool": {
                        "filter": [
                            {"term": {"kibana.alert.rule.uuid": "r2"}},
                            {"range": {"@timestamp": {"gte": 2000}}},
                        ]
                    }
                },
                {
                    "bool": {
                        "filter": [{"range": {"@timestamp": {"gte": 500}}}],
                        "must_not": [{"terms": {"kibana.alert.rule.uuid": ["r1", "r2"]}}],
                    }
                },
                {
                    "bool": {
                        "filter": [
                            {"term": {"kibana.alert.status": "untracked"}},
                            {"range": {"kibana.alert.end": {"gte": 700}}},
                        ]
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def test_many_rules_are_read_in_groups_from_the_oldest_run_of_each() -> None:
    runs = {f"r{i:03}": RuleRun(10_000 + i, again=i == 64) for i in range(200)}
    clauses = ReadFrom(runs).query()["bool"]["should"][:-2]
    assert len(clauses) == 50 <= MAX_RULE_CLAUSES  # 4 rules a group
    first, second = clauses[0]["bool"]["filter"], clauses[1]["bool"]["filter"]
    assert first == [
        {"terms": {"kibana.alert.rule.uuid": ["r000", "r001", "r002", "r003"]}},
        {"range": {"@timestamp": {"gt": 10_000}}},
    ]
    assert second[1] == {"range": {"@timestamp": {"gt": 10_004}}}
    assert clauses[16]["bool"]["filter"][1] == {"range": {"@timestamp": {"gte": 10_064}}}  # r064 is read again
    assert sum(len(c["bool"]["filter"][0]["terms"]["kibana.alert.rule.uuid"]) for c in clauses) == 200


# ------------------------------------------------------------------------ against what Kibana writes
async def test_a_long_run_is_read_after_a_later_short_run_of_another_rule(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.add_alert(rule_id="disk", instance_id="d1", at=at(30))
    read_from = ReadFrom({"cpu": RuleRun(millis(at(0))), "disk": RuleRun(millis(at(30)))}, millis(at(30)), 0)
    assert await new_to(es, read_from) == []
    fake_es.recover(rule_id="cpu", instance_id="h1", at=at(10))  # began at 10 s, written after disk's run
    fake_es.add_alert(rule_id="cpu", instance_id="h2", at=at(10))
    assert sorted(await new_to(es, read_from)) == [("h1", "recovered"), ("h2", "active")]


async def test_the_run_just_read_is_read_again_only_while_it_may_still_be_arriving(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.add_alert(rule_id="cpu", instance_id="h2", at=at(0))
    assert len(await new_to(es, ReadFrom({"cpu": RuleRun(millis(at(0)), again=True)}, millis(at(60))))) == 2
    assert await new_to(es, ReadFrom({"cpu": RuleRun(millis(at(0)))}, millis(at(60)), millis(at(60)))) == []


async def test_untracking_is_read_by_its_end_whatever_its_timestamp(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.add_alert(rule_id="disk", instance_id="d1", at=at(600))
    read_from = ReadFrom({"cpu": RuleRun(millis(at(0))), "disk": RuleRun(millis(at(600)))}, 0, millis(at(590)))
    assert await new_to(es, read_from) == []
    fake_es.untrack(rule_id="cpu", instance_id="h1", at=at(605))
    assert await new_to(es, read_from) == [("h1", "untracked")]


# ------------------------------------------------------------------------ what a replica remembers
def test_a_first_pass_reads_from_the_watermark_less_the_longest_run_and_never_before_the_floor() -> None:
    reading = SpaceReading()
    watermark = millis(T0)
    first = reading.pass_from(watermark, floor_ms=0, now=T0)
    assert first.read_from == ReadFrom({}, watermark - millis_of(RUN_ALLOWANCE), watermark - millis_of(RUN_ALLOWANCE))
    assert reading.pass_from(watermark + 1, floor_ms=0, now=T0) is first  # under way until done
    reading.done(T0)
    assert SpaceReading().pass_from(watermark, floor_ms=watermark + 5, now=T0).read_from.others_from_ms == watermark + 5


def test_each_rule_is_read_after_its_newest_run_and_untracking_after_the_previous_pass_began() -> None:
    reading = SpaceReading()
    reading.pass_from(millis(at(0)), floor_ms=0, now=at(0))
    reading.read("cpu", millis(at(10)))
    reading.read("cpu", millis(at(5)))  # an older document (untracked) moves nothing back
    reading.read("disk", millis(at(20)))
    reading.done(now=at(25))
    second = reading.pass_from(millis(at(20)), floor_ms=0, now=at(26))
    assert second.read_from.rules == {"cpu": RuleRun(millis(at(10)), again=True), "disk": RuleRun(millis(at(20)), True)}
    assert second.read_from.untracked_from_ms == millis(at(0) - UNTRACKING_TAKES)  # since the first pass began
    reading.done(now=at(40))
    third = reading.pass_from(millis(at(20)), floor_ms=0, now=at(40))  # their documents had time to arrive
    assert third.read_from.rules == {"cpu": RuleRun(millis(at(10))), "disk": RuleRun(millis(at(20)))}
    reading.done(now=at(40))
    later = at(15) + RUN_ALLOWANCE
    fourth = reading.pass_from(millis(later), floor_ms=0, now=later)  # cpu ran no more: the others' clause has it
    assert list(fourth.read_from.rules) == ["disk"]


def millis_of(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)
