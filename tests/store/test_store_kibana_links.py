"""People's links to their own Kibana keys: stored encrypted, shared by replicas, rotated without loss
(KIBANA_IDENTITY=person, issue 26). On SQLite and PostgreSQL."""

from __future__ import annotations

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.credentials import Credentials, PersonKey
from bot.people import PersonLinks
from bot.store import Store
from tests.store.conftest import OpenStore

ALICE_KEY = SecretStr("YWxpY2Uta2V5LWlkOmFsaWNlLXNlY3JldA==")  # base64 of alice-key-id:alice-secret


def alice(api_key: SecretStr = ALICE_KEY, key_id: str = "alice-key-id") -> PersonKey:
    return PersonKey(team_id="T1", user_id="U_ALICE", api_key=api_key, key_id=key_id, kibana_user="alice")


async def test_a_link_is_stored_encrypted_and_read_back(store: Store) -> None:
    credentials = Credentials(SecretStr(Fernet.generate_key().decode()))
    links = PersonLinks(store, credentials)
    assert await links.link_of("T1", "U_ALICE") is None
    await links.connect(alice())
    link = await links.link_of("T1", "U_ALICE")
    assert link is not None and not link.stale
    assert link.key.api_key.get_secret_value() == ALICE_KEY.get_secret_value()
    assert (link.key.kibana_user, link.key.key_id) == ("alice", "alice-key-id")
    stored = (await store.kibana_links())[0]
    assert ALICE_KEY.get_secret_value() not in stored.ciphertext and "alice-secret" not in stored.ciphertext
    assert await links.link_of("T2", "U_ALICE") is None  # another workspace: another person


async def test_stale_only_for_the_key_that_was_refused_then_forgotten(store: Store) -> None:
    links = PersonLinks(store, Credentials(SecretStr(Fernet.generate_key().decode())))
    await links.connect(alice())
    await links.mark_stale(alice(key_id="an-older-key"))  # a 401 to a key since replaced: no effect
    assert (await links.link_of("T1", "U_ALICE")).stale is False  # type: ignore[union-attr]
    await links.mark_stale(alice())
    assert (await links.link_of("T1", "U_ALICE")).stale is True  # type: ignore[union-attr]
    await links.connect(alice())  # reconnecting makes it fresh
    assert (await links.link_of("T1", "U_ALICE")).stale is False  # type: ignore[union-attr]
    assert await links.disconnect("T1", "U_ALICE") is True
    assert await links.disconnect("T1", "U_ALICE") is False
    assert await store.count_kibana_links() == 0


async def test_a_link_made_on_one_replica_is_used_by_another(open_store: OpenStore) -> None:
    key = SecretStr(Fernet.generate_key().decode())
    one, two = PersonLinks(await open_store(), Credentials(key)), PersonLinks(await open_store(), Credentials(key))
    await one.connect(alice())
    link = await two.link_of("T1", "U_ALICE")
    assert link is not None and link.key.api_key.get_secret_value() == ALICE_KEY.get_secret_value()
    await two.mark_stale(link.key)
    assert (await one.link_of("T1", "U_ALICE")).stale is True  # type: ignore[union-attr]


async def test_rotating_the_credentials_key_loses_no_link(store: Store) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    await PersonLinks(store, Credentials(SecretStr(old))).connect(alice())
    rotated = PersonLinks(store, Credentials(SecretStr(f"{new},{old}")))
    assert (await rotated.report()).undecryptable == 0
    assert await rotated.reencrypt() == 1
    assert await rotated.reencrypt() == 0  # already under the first key
    only_new = PersonLinks(store, Credentials(SecretStr(new)))  # the old key can go now
    report = await only_new.report()
    assert (report.total, report.undecryptable) == (1, 0)
    link = await only_new.link_of("T1", "U_ALICE")
    assert link is not None and link.key.api_key.get_secret_value() == ALICE_KEY.get_secret_value()
    wrong = PersonLinks(store, Credentials(SecretStr(old)))
    assert (await wrong.report()).undecryptable == 1
