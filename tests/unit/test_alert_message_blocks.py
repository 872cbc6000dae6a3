"""The alert message's Block Kit: the buttons that apply, Slack's limits, and what a recovery removes."""

from __future__ import annotations

from datetime import UTC, datetime

from devkit.fake_slack.block_kit import message_problems
from handlers.alerting import writes
from handlers.alerting.target import Target
from handlers.alerting.writes import Written
from handlers.alerts.message import AlertView, alert_blocks, alert_text
from handlers.shared.outcome import STATUS_BLOCK

VIEW = AlertView(
    rule_id="r1",
    rule_name="CPU high",
    space="ops",
    alert_id="host-1",
    alert_uuid="u-1",
    action_group="threshold met",
    reason="CPU <b>97%</b> & rising",
    rule_url="https://kibana.example.com/s/ops/app/rules/r1",
    tags=["prod", "db"],
    date=datetime(2025, 3, 4, 10, 42, tzinfo=UTC),
)


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_new_alert_offers_what_applies_to_it_within_slacks_limits() -> None:
    blocks = alert_blocks(VIEW)
    assert message_problems(blocks) == []
    # Kibana notifies only for an alert that is not muted, of an enabled rule not muted as a whole.
    assert action_ids(blocks) == [
        "alert_mute",
        "alert_mute_for",  # 1 h, 4 h, until 09:00 tomorrow (and until it gets worse on Kibana 9.5)
        "rule_mute_all",
        "rule_disable",
        "rule_snooze",
        "case_open",
        "case_attach",
        "rule_link",
    ]
    block_ids = [b.get("block_id") for b in blocks if b.get("block_id")]
    assert len(block_ids) == len(set(block_ids))


def test_each_action_turns_its_button_into_the_opposite_one() -> None:
    alert = Target(rule_id="r1", space="ops", alert_id="host-1")
    rule = Target(rule_id="r1", space="ops")
    view = VIEW
    steps = [
        (Written(writes.MUTE, alert), "alert_unmute", "alert_mute"),
        (Written(writes.UNMUTE, alert), "alert_mute", "alert_unmute"),
        (Written(writes.MUTE_ALL, rule), "rule_unmute_all", "rule_mute_all"),
        (Written(writes.UNMUTE_ALL, rule), "rule_mute_all", "rule_unmute_all"),
        (Written(writes.DISABLE, rule), "rule_enable", "rule_disable"),
        (Written(writes.ENABLE, rule), "rule_disable", "rule_enable"),
    ]
    for done, shown, gone in steps:
        view = view.after(done)
        ids = action_ids(alert_blocks(view))
        assert shown in ids and gone not in ids, done


def test_actions_on_another_alert_or_rule_change_nothing() -> None:
    assert VIEW.after(Written(writes.MUTE, Target(rule_id="r1", space="ops", alert_id="host-2"))) is VIEW
    assert VIEW.after(Written(writes.DISABLE, Target(rule_id="r2", space="ops"))) is VIEW
    assert VIEW.after(Written(writes.DISABLE, Target(rule_id="r1", space="default"))) is VIEW
    assert VIEW.after(Written(writes.SNOOZE, Target(rule_id="r1", space="ops"))) is VIEW


def test_kibana_text_is_escaped_for_mrkdwn() -> None:
    section = alert_blocks(VIEW)[1]
    assert section["text"]["text"] == "CPU &lt;b&gt;97%&lt;/b&gt; &amp; rising"


def test_alert_buttons_act_on_the_alert_and_rule_buttons_on_the_rule() -> None:
    elements = {e["action_id"]: e for b in alert_blocks(VIEW) if b["type"] == "actions" for e in b["elements"]}
    assert Target.unpack(elements["alert_mute"]["value"]) == Target(
        rule_id="r1", space="ops", alert_id="host-1", alert_uuid="u-1"
    )
    assert Target.unpack(elements["rule_disable"]["value"]) == Target(rule_id="r1", space="ops")
    assert Target.unpack(elements["case_open"]["value"]).alert_uuid == "u-1"
    assert elements["rule_link"]["url"] == VIEW.rule_url
    assert "confirm" in elements["rule_mute_all"]


def test_a_recovered_alert_keeps_rule_buttons_and_case_only() -> None:
    recovered = VIEW.model_copy(update={"recovered_at": datetime(2025, 3, 4, 11, 5, tzinfo=UTC)})
    blocks = alert_blocks(recovered)
    assert message_problems(blocks) == []
    assert "alert_mute" not in action_ids(blocks) and "alert_unmute" not in action_ids(blocks)
    assert "alert_mute_for" not in action_ids(blocks)
    assert {"rule_mute_all", "rule_disable", "case_open", "rule_link"} <= set(action_ids(blocks))
    assert blocks[0]["text"]["text"].startswith(":white_check_mark: Recovered: CPU high")
    assert any("2025-03-04 11:05 UTC" in str(b) for b in blocks)
    assert alert_text(recovered).startswith("Recovered: CPU high")


def test_status_lines_show_the_newest_five() -> None:
    blocks = alert_blocks(VIEW, [f"line {n}" for n in range(8)])
    [status] = [b for b in blocks if b.get("block_id") == STATUS_BLOCK]
    assert [e["text"] for e in status["elements"]] == [f"line {n}" for n in range(3, 8)]
    assert not any(b.get("block_id") == STATUS_BLOCK for b in alert_blocks(VIEW))


def test_huge_kibana_values_stay_within_slacks_limits() -> None:
    huge = VIEW.model_copy(
        update={
            "rule_name": "N" * 1000,
            "reason": "R" * 20_000,
            "alert_id": "a" * 512,
            "tags": [f"t{n}" * 20 for n in range(200)],
            "recovery_reason": "x" * 5000,
            "recovered_at": datetime(2025, 3, 4, 11, 5, tzinfo=UTC),
        }
    )
    assert message_problems(alert_blocks(huge, ["s" * 4000] * 10)) == []
    assert message_problems(alert_blocks(huge.model_copy(update={"recovered_at": None}))) == []
    assert len(alert_text(huge)) <= 300


def test_the_mute_for_menu_offers_until_it_gets_worse_only_with_the_alert_snooze() -> None:
    def labels(blocks: list[dict]) -> list[str]:
        menu = next(
            e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "alert_mute_for"
        )
        return [o["text"]["text"] for o in menu["options"]]

    assert labels(alert_blocks(VIEW)) == ["1 hour", "4 hours", "Until 09:00 tomorrow"]
    with_snooze = alert_blocks(VIEW, alert_snooze=True)
    assert message_problems(with_snooze) == []
    assert labels(with_snooze) == ["1 hour", "4 hours", "Until 09:00 tomorrow", "Until it gets worse"]
    muted = alert_blocks(VIEW.model_copy(update={"muted": True}), alert_snooze=True)
    assert "alert_mute_for" not in action_ids(muted) and "alert_unmute" in action_ids(muted)
