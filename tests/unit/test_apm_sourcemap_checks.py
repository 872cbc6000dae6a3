"""The source map checks and the 403 wording, as pure functions."""

from __future__ import annotations

import json

import pytest

from bot.kibana.errors import KibanaForbidden
from handlers import build_catalog
from handlers.apm.sourcemap_file import MAX_BYTES, SourceMapRefused, check, problems_of
from handlers.shared.errors import Doing, describe, missing_privileges

EXPLAIN = build_catalog().explain  # the features' sentences, as the bot has them

GOOD = {"version": 3, "sources": ["a.ts"], "mappings": "AAAA"}


def test_a_source_map_passes_and_is_returned() -> None:
    assert check("a.map", json.dumps(GOOD).encode()) == GOOD


def test_a_byte_order_mark_is_allowed() -> None:
    assert check("a.map", b"\xef\xbb\xbf" + json.dumps(GOOD).encode()) == GOOD


def test_exactly_one_mebibyte_passes_one_more_byte_does_not() -> None:
    body = json.dumps(GOOD | {"x": ""}).encode()
    padded = body[:-2] + b"a" * (MAX_BYTES - len(body)) + b'"}'
    assert len(padded) == MAX_BYTES
    check("a.map", padded)
    with pytest.raises(SourceMapRefused, match="at most 1 MiB"):
        check("a.map", padded + b" ")


@pytest.mark.parametrize(
    ("content", "wanted"),
    [
        (b"\xff\xfe\x00binary", "not a text file"),
        (b"//# sourceMappingURL=main.js.map", "is not JSON (Expecting value at line 1, column 1)"),
        (b"[1, 2]", "it must be a JSON object"),
        (json.dumps({"version": True, "sources": ["a"], "mappings": ""}).encode(), "`version` must be a number"),
        (json.dumps({"version": 3, "sources": [1], "mappings": ""}).encode(), "`sources` must be a list"),
        (json.dumps({"version": 3, "sources": [], "sections": []}).encode(), "`mappings` must be a string"),
    ],
)
def test_what_is_not_a_source_map_is_refused_with_the_reason(content: bytes, wanted: str) -> None:
    with pytest.raises(SourceMapRefused) as refused:
        check("main.js.map", content)
    assert wanted in refused.value.message
    assert "`main.js.map`" in refused.value.message


def test_problems_agree_with_kibana_on_number_versions() -> None:
    assert problems_of(GOOD | {"version": 3.0}) == []
    assert problems_of(GOOD | {"version": "3"}) == ["`version` must be a number"]


def test_elasticsearch_missing_privileges_are_named() -> None:
    message = (
        "elastic is missing the following requested privilege(s): event:write, config_agent:read and following "
        "cluster privileges - manage_own_api_key privilege(s).    You might try with the superuser, or add the "
        "missing APM application privileges to the role of the authenticated user, eg.:\n"
        '    PUT /_security/role/x\n    {"applications": []}'
    )
    assert missing_privileges(message, application="APM application") == (
        "the APM application privileges `event:write`, `config_agent:read` and the cluster privilege "
        "`manage_own_api_key`"
    )


def test_kibana_route_privileges_are_named() -> None:
    message = (
        "API [POST /api/apm/agent_keys] is unauthorized for user, this action is granted by the Kibana privileges [apm]"
    )
    assert missing_privileges(message) == "the Kibana privilege `apm`"


def test_other_403s_keep_kibanas_message() -> None:
    error = KibanaForbidden("Unauthorized to update case", method="POST", path="/api/cases")
    assert missing_privileges(error.message) is None
    assert "Unauthorized to update case" in describe(error, Doing(command="/kibana", explain=EXPLAIN, action="case"))


def test_the_sentence_for_an_agent_key_403() -> None:
    error = KibanaForbidden(
        "bob is missing the following requested privilege(s): event:write.",
        method="POST",
        path="/s/ops/api/apm/agent_keys",
    )
    text = describe(error, Doing(command="/kibana", explain=EXPLAIN, action="apm key create", space="ops"))
    assert text.startswith("Kibana refused `/kibana apm key create` (403): the bot's Kibana credentials lack the APM")
    assert "`event:write` in space `ops`" in text
