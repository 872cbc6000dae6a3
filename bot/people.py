"""Each person's link to their own Kibana API key (KIBANA_IDENTITY=person), kept in the store.

Keys are encrypted with CREDENTIALS_KEY (`bot.credentials`) before they reach the store, and
decrypted only to make a call. Links are keyed by Slack workspace, Slack user and Kibana deployment
(today one, `default`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.credentials import Credentials, CredentialsKeyWrong, PersonKey
from bot.store import Store

log = logging.getLogger(__name__)

DEPLOYMENT = "default"


@dataclass(frozen=True)
class Link:
    key: PersonKey
    stale: bool  # Kibana answered 401 to it since it was linked


@dataclass(frozen=True)
class LinksReport:
    total: int
    undecryptable: int


class PersonLinks:
    def __init__(self, store: Store, credentials: Credentials, deployment: str = DEPLOYMENT) -> None:
        self.store = store
        self.credentials = credentials
        self.deployment = deployment

    async def link_of(self, team_id: str | None, user_id: str) -> Link | None:
        """The person's link (CredentialsKeyWrong when CREDENTIALS_KEY no longer decrypts it)."""
        stored = await self.store.kibana_link(team_id or "", user_id, self.deployment)
        if stored is None:
            return None
        key = PersonKey(
            team_id=stored.team_id,
            user_id=stored.user_id,
            api_key=self.credentials.decrypt(stored.ciphertext),
            key_id=stored.key_id,
            kibana_user=stored.kibana_user,
        )
        return Link(key, stored.stale)

    async def connect(self, key: PersonKey) -> None:
        await self.store.save_kibana_link(
            key.team_id,
            key.user_id,
            self.deployment,
            ciphertext=self.credentials.encrypt(key.api_key),
            key_id=key.key_id,
            kibana_user=key.kibana_user,
        )

    async def disconnect(self, team_id: str | None, user_id: str) -> bool:
        return await self.store.forget_kibana_link(team_id or "", user_id, self.deployment) is not None

    async def mark_stale(self, key: PersonKey) -> None:
        await self.store.mark_kibana_link_stale(key.team_id, key.user_id, self.deployment, key.key_id)

    async def report(self) -> LinksReport:
        """How many links there are, and how many CREDENTIALS_KEY does not decrypt."""
        links = await self.store.kibana_links()
        wrong = 0
        for link in links:
            try:
                self.credentials.decrypt(link.ciphertext)
            except CredentialsKeyWrong:
                wrong += 1
        return LinksReport(len(links), wrong)

    async def reencrypt(self) -> int:
        """Every link encrypted under CREDENTIALS_KEY's first key (after a rotation); returns how many
        changed. A link no key decrypts raises CredentialsKeyWrong."""
        changed = 0
        for link in await self.store.kibana_links():
            if not self.credentials.under_first_key(link.ciphertext):
                await self.store.reencrypt_kibana_link(link, self.credentials.rotate(link.ciphertext))
                changed += 1
        return changed
