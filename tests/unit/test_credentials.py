"""CREDENTIALS_KEY and people's keys: Fernet keys in order, key ids, nothing shown in clear."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.credentials import (
    Credentials,
    CredentialsKeyInvalid,
    CredentialsKeyWrong,
    PersonKey,
    credentials_keys,
    key_id_of,
    shown_key_id,
)
from bot.settings import ConfigError, load_settings


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Credentials(SecretStr(old)).encrypt(SecretStr("the-key"))
    both = Credentials(SecretStr(f" {new} , {old} "))
    assert both.decrypt(token).get_secret_value() == "the-key"
    assert not both.under_first_key(token)
    assert both.under_first_key(both.rotate(token))
    assert Fernet(new.encode()).decrypt(both.encrypt(SecretStr("x")).encode()) == b"x"
    with pytest.raises(CredentialsKeyWrong):
        Credentials(SecretStr(new)).decrypt(token)


@pytest.mark.parametrize(("text", "problem"), [("", "it is empty"), ("short", "key 1 is not"), ("a,b", "key 1")])
def test_a_bad_credentials_key_is_named(text: str, problem: str) -> None:
    with pytest.raises(CredentialsKeyInvalid, match=problem):
        credentials_keys(text)


def test_settings_need_a_credentials_key_in_person_mode() -> None:
    base = {"slack_bot_token": "xoxb-1", "_env_file": None}
    assert load_settings(**base).kibana_identity == "bot"
    with pytest.raises(ConfigError, match=r"^CREDENTIALS_KEY: expected one or more Fernet keys"):
        load_settings(**base, kibana_identity="person")
    with pytest.raises(ConfigError, match=r"^CREDENTIALS_KEY: expected .*key 2 is not 32 url-safe"):
        load_settings(**base, kibana_identity="person", credentials_key=f"{Fernet.generate_key().decode()},nope")
    key = Fernet.generate_key().decode()
    settings = load_settings(**base, kibana_identity="Person", credentials_key=key)
    assert settings.acts_as_person and key in settings.secret_values


def test_a_key_id_is_read_from_the_encoded_key_and_shown_short() -> None:
    encoded = base64.b64encode(b"ab12cd34:the-secret").decode()
    assert key_id_of(encoded) == "ab12cd34"
    assert key_id_of("not base64!") is None and key_id_of(base64.b64encode(b"no-colon").decode()) is None
    assert shown_key_id("ab12cd34") == "ab12…"
    person = PersonKey(team_id="T", user_id="U", api_key=SecretStr(encoded), key_id="ab12cd34")
    assert encoded not in repr(person) and "the-secret" not in repr(person)
    assert person.identity == "API key ab12…"
