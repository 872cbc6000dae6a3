"""Kibana's answers to a person's own key (KIBANA_IDENTITY=person), said in Kibana's terms."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.credentials import PersonKey
from bot.kibana.acting import KibanaNotLinked, PersonForbidden, PersonKeyRejected
from bot.kibana.errors import KibanaForbidden, KibanaUnauthorized
from bot.kibana.privileges import needed
from handlers import build_catalog
from handlers.shared.errors import Doing, describe

KEY = PersonKey(team_id="T1", user_id="U1", api_key=SecretStr("YWIxMmNkOnNlY3JldA=="), key_id="ab12cd")
DOING = Doing(command="/kibana", explain=build_catalog().explain, action="mute", space="ops")


@pytest.mark.parametrize(
    ("method", "route", "said"),
    [
        ("GET", "/api/alerting/rule/{id}", "*Rules: read* in space `ops`"),
        ("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute", "*Rules: all* in space `ops`"),
        ("GET", "/api/alerting/_health", "*Rules: read* in space `ops`"),
        ("POST", "/api/cases", "*Cases: all* in space `ops`"),
        ("GET", "/api/cases/_find", "*Cases: read* in space `ops`"),
        ("PUT", "/api/apm/settings/agent-configuration", "*APM and User Experience: all* in every space"),
        ("POST", "/api/maintenance_window", "*Maintenance Windows: all* in space `ops`"),
    ],
)
def test_the_privilege_a_call_needs(method: str, route: str, said: str) -> None:
    assert needed(method, route, "ops").sentence() == said


def test_a_403_to_a_person_names_the_privilege_not_the_bots_role() -> None:
    cause = KibanaForbidden('Unauthorized by "alerts" to muteAlert ".index-threshold" rule', space="ops")
    error = PersonForbidden(KEY, needed("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute", "ops"), cause)
    sentence = describe(error, DOING)
    assert sentence.startswith("Kibana refuses this for your account: it needs *Rules: all* in space `ops`.")
    assert "bot's" not in sentence and "muteAlert" in sentence  # Kibana's own words follow


def test_a_401_to_a_person_is_their_key_not_the_bots() -> None:
    sentence = describe(PersonKeyRejected(KEY, KibanaUnauthorized("Unauthorized")), DOING)
    assert sentence.startswith("Kibana rejected your API key (`ab12…`, 401)")
    assert "`/kibana connect`" in sentence and "KIBANA_API_KEY" not in sentence
    assert "c2VjcmV0" not in sentence and "secret" not in sentence


def test_no_link_says_to_connect() -> None:
    assert describe(KibanaNotLinked("U1"), DOING) == (
        "This bot acts in Kibana as each person, and your Kibana account is not connected, so nothing was "
        "sent to Kibana. Connect it with an API key of your own: `/kibana connect`."
    )


def test_a_link_the_credentials_key_cannot_read_says_what_to_do() -> None:
    from bot.credentials import CredentialsKeyWrong

    sentence = describe(CredentialsKeyWrong("x"), DOING)
    assert "no longer decrypts it" in sentence and "`/kibana connect`" in sentence and "check" in sentence


def test_the_audit_trail_names_the_kibana_identity_used() -> None:
    from bot.store import AuditEntry
    from handlers.access.audit_view import audit_line

    fields = {"user_id": "U1", "user_name": "alice", "team": "T1", "channel": None, "action": "mute"}
    entry = AuditEntry(**fields, target="r1/host-1", space="ops", result="ok", kibana_identity="alice")
    assert "<@U1> (Kibana: `alice`)" in audit_line(entry)
    bots = AuditEntry(**fields, target="r1", space="ops", result="ok")
    assert "Kibana:" not in audit_line(bots)  # the bot's own credential: as before
