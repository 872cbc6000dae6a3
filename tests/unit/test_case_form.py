"""The case form on its own: prefill from Slack text, what travels in private_metadata, and
every validation rule (Kibana's limits) with the field it is shown under."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from devkit.fake_slack.block_kit import view_problems
from devkit.slack_driver.state import state_values
from handlers.cases.form import (
    CaseFields,
    CaseOrigin,
    Prefill,
    case_form,
    comment_form,
    dedupe_key,
    dedupe_tag,
    description_for,
    plain_text,
    read_case_form,
    read_comment,
    shortened,
    split_tags,
    title_from,
)
from handlers.cases.whole_message import whole_message_note, whole_text_comments

ORIGIN = CaseOrigin(
    kind="message",
    channel="C0ALERTS",
    message_ts="1712345678.000100",
    space="ops",
    author="U0BOB",
    permalink="https://acme.slack.com/archives/C0ALERTS/p1712345678000100",
    response_url="https://hooks.slack.com/app/T1/1/abc",
)


def submitted(values: dict[str, Any], prefill: Prefill | None = None) -> dict[str, Any]:
    """The view as Slack sends it on submit, with `values` entered over the prefill."""
    view = case_form(prefill or Prefill(title="Disk full", description="db-3 is at 100%"), ORIGIN)
    view["state"] = {"values": state_values(view["blocks"], values)}
    return view


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Disk full on db-3\nsecond line", "Disk full on db-3"),
        ("\n\n   \n  leading blank lines  \nx", "leading blank lines"),
        ("<@U234> says <https://x.example/a|the dashboard> is red", "@U234 says the dashboard is red"),
        ("<#C123|ops> &lt;b&gt; &amp; <https://x.example>", "#ops <b> & https://x.example"),
        ("<!here> help", "here help"),
        ("", ""),
        ("y" * 500, "y" * 159 + "…"),
    ],
)
def test_title_from_the_first_line(text: str, title: str) -> None:
    assert title_from(text) == title
    assert len(title_from(text)) <= 160


def test_plain_text_keeps_unmarked_text() -> None:
    assert plain_text("a < b and c > d") == "a < b and c > d"


def test_description_has_text_author_and_permalink_and_fits() -> None:
    description = description_for("x" * 40_000, ORIGIN)
    assert len(description) <= 30_000
    assert description.endswith(f"Slack message by <@U0BOB>: {ORIGIN.permalink}")
    short = description_for("CPU &gt; 90%", ORIGIN, extra="Rule: r1")
    assert short == f"CPU > 90%\n\nRule: r1\n\nSlack message by <@U0BOB>: {ORIGIN.permalink}"


def test_a_long_message_fills_the_field_with_its_beginning() -> None:
    """A form field holds 3,000 characters: the description shows the message's beginning and the footer."""
    description = description_for("x" * 10_000, ORIGIN)
    assert len(description) <= 3000 and description.startswith("x" * 2000)
    assert description.endswith(f"Slack message by <@U0BOB>: {ORIGIN.permalink}")
    assert shortened("x" * 10_000, ORIGIN) and not shortened("x" * 2000, ORIGIN)
    assert shortened("x" * 2900, ORIGIN, extra="Rule: " + "r" * 200)  # the rule line takes room too


def test_the_form_of_a_long_message_is_one_slack_accepts() -> None:
    text = "line of the log\n" * 2499 + "line of the log."  # 40,000 characters: the longest message Slack keeps
    prefill = Prefill(title="T", description=description_for(text, ORIGIN), whole_note=whole_message_note(text))
    for view in (
        case_form(prefill, ORIGIN),
        comment_form(ORIGIN, case_title="c", case_url=None, comment=description_for(text, ORIGIN), whole_note="n"),
    ):
        assert view_problems(view) == []  # the fake's checks, Slack's limits (initial_value ≤ 3000 among them)
        View(**view).validate_json()  # slack_sdk's Block Kit models (which do not check initial_value)
        fields = [b["element"] for b in view["blocks"] if b["type"] == "input"]
        assert all(len(f.get("initial_value", "")) <= 3000 for f in fields)
    notes = [b for b in case_form(prefill, ORIGIN)["blocks"] if b.get("block_id") == "case_whole_message"]
    assert "40,000 characters" in notes[0]["elements"][0]["text"]


def test_the_whole_message_fits_case_comments() -> None:
    text = "&lt;b&gt; " + "y" * 39_990
    comments = whole_text_comments(text, ORIGIN)
    assert len(comments) == 2 and all(len(c) <= 30_000 for c in comments)
    assert comments[0].startswith(
        f"The whole Slack message by <@U0BOB> ({ORIGIN.permalink}) (39,994 characters, part 1"
    )
    assert "".join(c.split(":\n\n", 1)[1] for c in comments) == "<b> " + "y" * 39_990
    [one] = whole_text_comments("short", ORIGIN)
    assert one.endswith("(5 characters):\n\nshort")


def test_origin_round_trips_compactly() -> None:
    encoded = ORIGIN.pack()
    assert CaseOrigin.unpack(encoded) == ORIGIN
    assert len(encoded) < 300 and '"k":"message"' in encoded
    huge = ORIGIN.model_copy(update={"permalink": "https://x/" + "p" * 3000})
    assert len(huge.pack()) <= 3000 and CaseOrigin.unpack(huge.pack()).permalink is None
    with pytest.raises(ValueError, match="not made by the bot"):
        CaseOrigin.unpack('{"nope": 1}')


def test_dedupe_key_per_message_or_per_form() -> None:
    assert dedupe_key(ORIGIN, "V1") == "C0ALERTS:1712345678.000100"
    assert dedupe_key(CaseOrigin(kind="command", channel="C0ALERTS"), "V1") == "view:V1"
    assert dedupe_tag("C0ALERTS:1.2") == "slack-dedupe:C0ALERTS:1.2"
    assert len(dedupe_tag("k" * 400)) == 256


def test_the_form_is_valid_block_kit_and_prefilled() -> None:
    prefill = Prefill(title="T", description="D", severity="high", tags=["slack", "x"], owner="observability")
    view = case_form(prefill, ORIGIN)
    assert view_problems(view) == []
    by_id = {b["block_id"]: b for b in view["blocks"] if "block_id" in b}
    assert by_id["title"]["element"]["initial_value"] == "T"
    assert by_id["severity"]["element"]["initial_option"]["value"] == "high"
    assert by_id["owner"]["element"]["initial_option"]["value"] == "observability"
    assert by_id["tags"]["element"]["initial_value"] == "slack, x"
    assert by_id["sync_alerts"]["element"]["initial_options"][0]["value"] == "sync"
    comment = comment_form(ORIGIN, case_title="c", case_url="https://k/c/1", comment="hello")
    assert view_problems(comment) == []


def test_untouched_form_reads_as_its_prefill() -> None:
    fields = read_case_form(submitted({}))
    assert fields == CaseFields(
        title="Disk full",
        description="db-3 is at 100%",
        severity="low",
        tags=["slack"],
        owner="cases",
        sync_alerts=True,
    )


def test_entered_values_are_read() -> None:
    fields = read_case_form(
        submitted(
            {
                "severity": {"severity": "critical"},
                "owner": {"owner": "securitySolution"},
                "tags": {"tags": " a, b ,, a\nc "},
                "sync_alerts": {"sync_alerts": []},
            }
        )
    )
    assert isinstance(fields, CaseFields)
    assert (fields.severity, fields.owner, fields.tags, fields.sync_alerts) == (
        "critical",
        "securitySolution",
        ["a", "b", "c"],
        False,
    )


def test_the_permalink_footer_is_put_back_when_removed() -> None:
    footer = f"Slack message by <@U0BOB>: {ORIGIN.permalink}"
    fields = read_case_form(submitted({"description": {"description": "my own words"}}), footer=footer)
    assert isinstance(fields, CaseFields) and fields.description == f"my own words\n\n{footer}"
    kept = read_case_form(submitted({"description": {"description": f"x\n{footer}"}}), footer=footer)
    assert isinstance(kept, CaseFields) and kept.description == f"x\n{footer}"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"title": {"title": "t" * 161}}, "title", "161"),
        ({"title": {"title": "   "}}, "title", "title"),
        ({"title": {"title": None}}, "title", "title"),
        ({"description": {"description": "d" * 30_001}}, "description", "30000"),
        ({"description": {"description": ""}}, "description", "description"),
        ({"tags": {"tags": "ok, " + "g" * 257}}, "tags", "256"),
        ({"tags": {"tags": ",".join(f"t{i}" for i in range(200))}}, "tags", "199"),
    ],
)
def test_field_errors(values: dict[str, Any], field: str, words: str) -> None:
    errors = read_case_form(submitted(values))
    assert isinstance(errors, dict) and list(errors) == [field]
    assert words in errors[field]


def test_limits_themselves_are_allowed() -> None:
    fields = read_case_form(
        submitted(
            {
                "title": {"title": "t" * 160},
                "description": {"description": "d" * 30_000},
                "tags": {"tags": ",".join(f"{i:03d}" + "g" * 253 for i in range(199))},
            }
        )
    )
    assert isinstance(fields, CaseFields) and len(fields.tags) == 199


def test_description_too_long_once_the_link_is_added() -> None:
    errors = read_case_form(submitted({"description": {"description": "d" * 29_990}}), footer="f" * 20)
    assert isinstance(errors, dict) and "with the link" in errors["description"]


def test_split_tags() -> None:
    assert split_tags("") == []
    assert split_tags("a,b , a") == ["a", "b"]


def test_read_comment() -> None:
    view = comment_form(ORIGIN, case_title="c", case_url=None, comment="hello")
    view["state"] = {"values": state_values(view["blocks"], {})}
    assert read_comment(view) == "hello"
    view["state"] = {"values": state_values(view["blocks"], {"comment": {"comment": ""}})}
    assert read_comment(view) == {"comment": "Write the comment to add."}
