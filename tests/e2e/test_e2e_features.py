"""The features merged into one bot: every element of the action catalog has its listener (Bolt would
answer an element nobody listens to with a 404 and no reply), and each one is guarded — a value the
bot did not make is refused with a sentence, and nothing reaches Kibana."""

from __future__ import annotations

import json

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers import build_catalog
from handlers.shared.blocks import actions, button, plain

_CATALOG = build_catalog()
BY_ACTION_ID, BY_VIEW, CATALOG = _CATALOG.by_action_id, _CATALOG.by_view, _CATALOG.rows

FORGED = '{"r":"r1","x":"not made by the bot"}'


def writes(kibana: FakeKibana) -> list[object]:
    return [r for r in kibana.requests if r.method != "GET"]


@pytest.mark.parametrize("action_id", sorted(BY_ACTION_ID))
async def test_a_forged_button_value_is_refused_in_a_sentence(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot, action_id: str
) -> None:
    message = {"type": "message", "ts": "1700000000.000100", "text": "x", "blocks": []}
    message["blocks"] = [actions(button("Forged", action_id, FORGED), block_id="forged")]
    response = await driver.post(driver.block_action(action_id, FORGED, message=message))
    assert response.status_code == 200
    await slack.wait_for(lambda: slack.responses)
    [reply] = [r.body for r in slack.responses]
    assert reply["text"] == "This button's value is not one the bot made."
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert writes(kibana) == []


@pytest.mark.parametrize("callback_id", sorted(BY_VIEW))
async def test_a_forged_form_is_refused_in_the_form(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot, callback_id: str
) -> None:
    field = {"type": "plain_text_input", "action_id": "value"}
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain("Forged"),
        "private_metadata": FORGED,
        "blocks": [{"type": "input", "block_id": "value", "label": plain("Value"), "element": field}],
    }
    response = await driver.post(driver.view_submission(view, {"value": {"value": "x"}}))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert json.dumps(answer["errors"]).count("This form was not made by the bot.") == 1
    assert writes(kibana) == [] and slack.calls_to("views.update") == []


def test_every_element_of_the_catalog_belongs_to_one_action() -> None:
    ids = [i for action in CATALOG for i in (*action.action_ids, *action.views, *action.shortcuts)]
    assert len(ids) == len(set(ids))
    assert set(BY_ACTION_ID) | set(BY_VIEW) <= set(ids)
