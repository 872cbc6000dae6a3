"""What the APM commands render: Slack's limits, truncation, the side-by-side comparison."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.kibana.models.apm import AgentConfiguration, SourceMapArtifact, SourceMapPage
from handlers.apm.actions import CONFIG_OVERWRITE
from handlers.apm.config import comparison_blocks, config_list_blocks
from handlers.apm.sourcemaps import sourcemap_list_blocks
from handlers.apm.values import ConfigChange, SourceMapRef


def config(name: str, environment: str | None = None, **settings: str) -> AgentConfiguration:
    service = {"name": name} | ({"environment": environment} if environment else {})
    return AgentConfiguration.model_validate(
        {"service": service, "settings": settings, "applied_by_agent": True, "@timestamp": 1_700_000_000_000}
    )


def test_config_list_sorts_and_describes_each_entry() -> None:
    text, blocks = config_list_blocks(
        [config("search", log_level="info"), config("checkout", "production", transaction_sample_rate="0.5")],
        space="ops",
        service=None,
        slash="/kibana",
    )
    assert text == "2 APM agent configurations in space ops"
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0].startswith("*checkout* · environment `production`")
    assert "`transaction_sample_rate` = `0.5`" in sections[0]
    assert sections[1].startswith("*search* · all environments")
    assert "applied by the agent · changed 2023-11-14 22:13 UTC" in json.dumps(blocks, ensure_ascii=False)


def test_config_list_stays_within_fifty_blocks_and_says_how_many_more() -> None:
    configs = [config(f"svc-{i:03}", log_level="info") for i in range(60)]
    _, blocks = config_list_blocks(configs, space="default", service=None, slash="/kibana")
    assert len(blocks) <= 50
    shown = sum(1 for b in blocks if b["type"] == "section")
    assert shown == 23
    assert blocks[-1]["elements"][0]["text"].startswith(f"…and {60 - shown} more")


def test_empty_config_list_explains_how_to_add_one() -> None:
    _, blocks = config_list_blocks([], space="default", service="checkout", slash="/k")
    assert "No agent configuration of `checkout`" in blocks[-1]["text"]["text"]
    assert "`/k apm config set" in blocks[-1]["text"]["text"]


def test_mrkdwn_in_settings_is_escaped() -> None:
    _, blocks = config_list_blocks([config("a<b>", x="<!channel>")], space="default", service=None, slash="/k")
    assert "<!channel>" not in json.dumps(blocks) and "&lt;!channel&gt;" in json.dumps(blocks)


def test_comparison_marks_changes_and_carries_the_change_in_the_button() -> None:
    change = ConfigChange(service="checkout", environment=None, settings={"a": "2", "c": "3"}, space="ops")
    blocks = comparison_blocks({"a": "1", "b": "x"}, change, slash="/kibana")
    current, proposed = (f["text"] for f in blocks[1]["fields"])
    assert "`a` = `1`" in current and "`b` = `x`" in current
    assert "`a` = `2`  _changed_" in proposed and "`c` = `3`  _new_" in proposed
    assert "`b` will be removed" in json.dumps(blocks)
    overwrite = blocks[-1]["elements"][0]
    assert overwrite["action_id"] == CONFIG_OVERWRITE
    assert ConfigChange.unpack(overwrite["value"]) == change


def test_a_change_too_large_for_a_button_asks_for_the_flag() -> None:
    change = ConfigChange(service="checkout", settings={f"key_{i}": "v" * 40 for i in range(60)}, space="default")
    blocks = comparison_blocks({"a": "1"}, change, slash="/kibana")
    assert all(b["type"] != "actions" for b in blocks)
    assert "`--overwrite`" in blocks[-1]["elements"][0]["text"]
    assert all(len(f["text"]) <= 2000 for b in blocks for f in b.get("fields", []))


def artifact(i: int) -> SourceMapArtifact:
    return SourceMapArtifact.model_validate(
        {
            "id": f"apm:web-{i}.0.0-{'a' * 64}",
            "identifier": f"web-{i}.0.0",
            "created": datetime(2025, 1, 2, 3, 4, tzinfo=UTC).isoformat(),
            "body": {"serviceName": "web", "serviceVersion": f"{i}.0.0", "bundleFilepath": f"/js/{i}.js"},
        }
    )


def test_sourcemap_list_has_one_confirmed_delete_per_map_and_stays_within_limits() -> None:
    page = SourceMapPage(artifacts=[artifact(i) for i in range(45)], total=80)
    text, blocks = sourcemap_list_blocks(page, space="ops", slash="/kibana")
    assert text == "80 APM source maps in space ops"
    assert len(blocks) <= 50
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert len(buttons) == 45
    assert all(len(b["value"]) <= 2000 and b["confirm"]["style"] == "danger" for b in buttons)
    assert SourceMapRef.unpack(buttons[0]["value"]) == SourceMapRef(id=artifact(0).id, space="ops", label="web 0.0.0")
    assert len({b.get("block_id") for b in blocks if "accessory" in b}) == 45
    assert blocks[-1]["elements"][0]["text"] == "…and 35 more, not shown."
    assert "created 2025-01-02 03:04 UTC" in blocks[2]["text"]["text"]


def test_button_values_not_made_by_the_bot_are_refused() -> None:
    for decode in (ConfigChange.unpack, SourceMapRef.unpack):
        try:
            decode('{"r": "rule"}')
        except ValueError as error:
            assert "not one the bot made" in str(error)
        else:
            raise AssertionError("a foreign value was accepted")
