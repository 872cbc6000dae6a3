"""The devkit's Webhook connector renders bodies as Kibana does and judges answers as Kibana does.

Kibana renders a connector body with mustache.js and its JSON escaping (`escapeJSON`); the devkit's
Python renderer must give the same bytes, checked against mustache.js 2.3.2 itself when Node.js is
installed (tests/fixtures/kibana/). The answer's judgement follows the connector's executor."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from devkit.fake_kibana import webhook_connector
from devkit.fake_kibana.webhook_connector import AlertVariables, Value, judge, render_body, run_action
from tests.kibana_mustache import kibana_render

TEMPLATE = (
    '{"reason":"{{context.reason}}","tags":"{{rule.tags}}","json":"{{rule.tags.asJSON}}","context":"{{context}}",'
    '"n":"{{n}}","f":"{{f}}","yes":"{{yes}}","none":"{{none}}","missing":"{{no.such.thing}}","nested":"{{deep}}"}'
)
VALUES: dict[str, Value] = {
    "plain": "CPU 97% on host-1",
    "quotes and backslashes": 'say "hi" \\ back',
    "line breaks and tabs": "one\ntwo\r\nthree\tfour\x0b\x0c\x08",
    "NUL and other controls": "a\x00b\x01c\x1bd\x1fe\x7ff",
    "a lone high surrogate": "cut \ud83d",
    "a lone low surrogate": "\ude00 start",
    "a surrogate pair held as two code points": "\ud83d\ude00",
    "emoji and accents": "\U0001f4be café ✓ \u2028 \u2029",
    "html": "<b>&amp;</b>",
}


def variables(reason: Value) -> dict[str, Value]:
    return {
        "context": {"reason": reason},
        "rule": {"tags": ["[x]", "prod", "db,eu", 'q"t', "\ud83d"]},
        "n": 42,
        "f": 0.5,
        "yes": True,
        "none": None,
        "deep": {"a": [1, None, {"b": "c"}]},
    }


@pytest.mark.parametrize("case", list(VALUES))
def test_the_body_is_json_and_keeps_the_value(case: str) -> None:
    body = json.loads(render_body(TEMPLATE, variables(VALUES[case])))
    assert body["tags"] == '[x],prod,db,eu,q"t,\ud83d' and json.loads(body["json"])[:3] == ["[x]", "prod", "db,eu"]
    assert (body["n"], body["f"], body["yes"], body["none"], body["missing"]) == ("42", "0.5", "true", "", "")
    assert json.loads(body["nested"]) == {"a": [1, None, {"b": "c"}]}
    assert body["reason"] == VALUES[case] or case == "a surrogate pair held as two code points"


@pytest.mark.parametrize("case", list(VALUES))
def test_the_body_is_byte_for_byte_what_kibana_s_mustache_renders(case: str) -> None:
    values = variables(VALUES[case])
    assert render_body(TEMPLATE, values) == kibana_render(TEMPLATE, values)


def test_an_alert_s_variables_render_as_kibana_renders_them() -> None:
    alert = AlertVariables(rule_id="r1", alert_id="host-1", alert_uuid="u-1", reason="x\x00", tags=["a", "b"])
    template = '{"a":"{{alert.id}}","g":"{{alert.actionGroup}}","r":"{{context.reason}}","t":"{{rule.tags}}"}'
    assert render_body(template, alert.variables()) == kibana_render(template, alert.variables())


def test_sections_and_unescaped_variables_are_not_modelled() -> None:
    for template in ("{{#rule.tags}}x{{/rule.tags}}", "{{{context.reason}}}", "{{&context.reason}}"):
        with pytest.raises(ValueError, match="only plain variables"):
            render_body(template, {})


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b"plain text"
    return httpx.Response(status, content=content, headers=headers)


def test_answers_are_judged_as_kibana_s_webhook_connector_judges_them() -> None:
    ok = judge(answer(202, {"status": "queued"}))
    assert (ok.status, ok.retry, ok.service_message) == ("ok", False, None)
    five = judge(answer(502, {"error": "e", "message": "Slack refused it"}))
    assert (five.status, five.retry, five.service_message) == ("error", True, "[502] Bad Gateway: Slack refused it")
    assert judge(answer(429, headers={"Retry-After": "5"})).retry
    final = judge(answer(422, {"message": "fix the channel"}))
    assert (final.status, final.retry, final.message) == ("error", False, "error calling webhook, invalid response")
    assert final.service_message == "[422] Unprocessable Entity: fix the channel"
    assert judge(answer(400, {"error": "no message field"})).service_message == "[400] Bad Request"
    assert judge(answer(404)).service_message == "[404] Not Found"


async def test_an_action_is_run_again_while_kibana_would_retry_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_connector, "RETRY_PAUSE", 0.0)
    answers = {
        "booked": [answer(429, headers={"Retry-After": "0"}), answer(202, {"status": "queued"})],
        "refused": [answer(422, {"message": "fix the channel"})],
        "down": [answer(503)] * 3,
    }
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.strip("/")
        tokens.append(request.headers["authorization"])
        return answers[name].pop(0)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://bot") as client:
        seen: list[int] = []
        booked = await run_action(client, "http://bot/booked", "t", b"{}", attempts=5, seen=seen)
        refused = await run_action(client, "http://bot/refused", "t", b"{}", attempts=5)
        down = await run_action(client, "http://bot/down", "t", b"{}", attempts=3)
    assert (booked[0].status, booked[1], seen) == ("ok", 2, [429, 202])  # got in on its second run
    assert (refused[0].status, refused[0].retry, refused[1]) == ("error", False, 1)  # a 4xx is final
    assert (down[0].status, down[0].retry, down[1]) == ("error", True, 3)  # given up after its runs
    assert set(tokens) == {"Bearer t"}
