"""People's own Kibana API keys: encrypted at rest with CREDENTIALS_KEY, and what a key says of itself.

CREDENTIALS_KEY holds one or more Fernet keys, comma-separated: the first encrypts, all of them
decrypt (`cryptography`'s MultiFernet), so a new key put first and the old one kept after it rotates
the key without losing a link; `Credentials.rotate` re-encrypts a stored key under the first.

A person's key never leaves this module in clear but to go into an `Authorization` header:
`PersonKey.__repr__` hides it, and what is shown of it is its id (`key_id`), never its secret.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr


class CredentialsKeyInvalid(ValueError):
    """CREDENTIALS_KEY is not a list of Fernet keys."""


class CredentialsKeyWrong(Exception):
    """CREDENTIALS_KEY does not decrypt a stored key (it was changed without keeping the old one)."""


def credentials_keys(text: str) -> list[Fernet]:
    """The Fernet keys of CREDENTIALS_KEY, in order (CredentialsKeyInvalid names the bad one by position)."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise CredentialsKeyInvalid("it is empty")
    keys: list[Fernet] = []
    for number, part in enumerate(parts, start=1):
        try:
            keys.append(Fernet(part))
        except (ValueError, binascii.Error):
            raise CredentialsKeyInvalid(f"key {number} is not 32 url-safe base64-encoded bytes") from None
    return keys


class Credentials:
    """Encrypts and decrypts people's keys with CREDENTIALS_KEY."""

    def __init__(self, credentials_key: SecretStr) -> None:
        keys = credentials_keys(credentials_key.get_secret_value())
        self._first = keys[0]
        self._fernet = MultiFernet(keys)

    def encrypt(self, api_key: SecretStr) -> str:
        return self._fernet.encrypt(api_key.get_secret_value().encode()).decode("ascii")

    def decrypt(self, token: str) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(token.encode("ascii")).decode())
        except (InvalidToken, UnicodeError):
            raise CredentialsKeyWrong("CREDENTIALS_KEY does not decrypt a stored Kibana key") from None

    def under_first_key(self, token: str) -> bool:
        """Whether `token` is encrypted under the first key already (no rotation needed)."""
        try:
            self._first.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """`token` encrypted under the first key (CredentialsKeyWrong when no key decrypts it)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise CredentialsKeyWrong("CREDENTIALS_KEY does not decrypt a stored Kibana key") from None


def key_id_of(api_key: str) -> str | None:
    """The id of an encoded Elasticsearch API key (base64 of `id:secret`), None when it is not one."""
    try:
        decoded = base64.b64decode(api_key.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    key_id, colon, secret = decoded.partition(":")
    if not colon or not key_id or not secret or not key_id.isprintable() or len(key_id) > 128:
        return None
    return key_id


def shown_key_id(key_id: str) -> str:
    """How a key is named to people: the start of its id (`ab12…`)."""
    return f"{key_id[:4]}…" if len(key_id) > 4 else key_id


@dataclass(frozen=True)
class PersonKey:
    """A person's own Kibana API key, with who they are in Slack and, when learned, in Kibana."""

    team_id: str
    user_id: str
    api_key: SecretStr = field(repr=False)
    key_id: str
    kibana_user: str | None = None

    @property
    def identity(self) -> str:
        """Who Kibana sees: the key's owner when learned, else the key (by its id)."""
        return self.kibana_user or f"API key {shown_key_id(self.key_id)}"
