"""The one compact encoding of what the bot hands Slack to get back later: button values, menu
options and modals' `private_metadata` (context travels in the button).

A value is a pydantic model with short field aliases, written as JSON. Whatever comes back is
validated again (`unpack`); a value that is not one the bot made raises `ForgedValue`, whose
message is meant for the person who clicked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.identifiers import control_character

BUTTON_VALUE_LIMIT = 2000  # characters: a button's value, or a menu option's
METADATA_LIMIT = 3000  # characters: a modal's private_metadata


class ForgedValue(ValueError):
    """A value that did not come from the bot (or no longer fits what the bot reads)."""


class TooLarge(ValueError):
    """A value larger than Slack carries."""


class Packed(BaseModel):
    """Base of every value the bot packs into Slack."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    LIMIT: ClassVar[int] = BUTTON_VALUE_LIMIT
    FORGED: ClassVar[str] = "This button's value is not one the bot made."

    def pack(self) -> str:
        text = self.model_dump_json(by_alias=True, exclude_none=True)
        if len(text) > self.LIMIT:
            raise TooLarge(f"{type(self).__name__} packs to {len(text)} characters; Slack carries {self.LIMIT}")
        return text

    def fits(self) -> bool:
        return len(self.model_dump_json(by_alias=True, exclude_none=True)) <= self.LIMIT

    @classmethod
    def unpack(cls, text: str | None) -> Self:
        if not text or len(text) > cls.LIMIT:
            raise ForgedValue(cls.FORGED)
        try:
            value = cls.model_validate_json(text)
        except ValidationError:
            raise ForgedValue(cls.FORGED) from None
        if not issubclass(cls, Metadata) and any(control_character(word) is not None for word in _strings(value)):
            raise ForgedValue(cls.FORGED)  # no id the bot puts in a button has one (what it seals, it wrote)
        return value


def _strings(node: object) -> list[str]:
    """Every string in a value: its fields, and what their lists and mappings hold."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, BaseModel):
        node = node.model_dump()
    if isinstance(node, dict):
        return [word for key, item in node.items() for word in (*_strings(key), *_strings(item))]
    if isinstance(node, (list, tuple, set, frozenset)):
        return [word for item in node for word in _strings(item)]
    return []


# The key that seals private_metadata; `use_metadata_key` sets it from the bot's secrets at start-up,
# so that every replica seals and opens alike.
_metadata_key = secrets.token_bytes(32)
_MAC_LENGTH = 22  # base64url characters of the tag (132 bits)


def use_metadata_key(secret: str) -> None:
    global _metadata_key
    _metadata_key = hmac.new(secret.encode(), b"kibana-chatops private_metadata", hashlib.sha256).digest()


def _tag(text: str) -> str:
    digest = hmac.new(_metadata_key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_LENGTH]


class Metadata(Packed):
    """Base of what a modal carries in its private_metadata. It is sealed (an HMAC of the bot's
    secret): what a submission brings back is what the bot wrote, or it is refused as forged."""

    LIMIT: ClassVar[int] = METADATA_LIMIT
    FORGED: ClassVar[str] = "This form was not made by the bot."

    def pack(self) -> str:
        text = self.model_dump_json(by_alias=True, exclude_none=True)
        sealed = f"{_tag(text)}.{text}"
        if len(sealed) > self.LIMIT:
            raise TooLarge(f"{type(self).__name__} packs to {len(sealed)} characters; Slack carries {self.LIMIT}")
        return sealed

    def fits(self) -> bool:
        return len(self.model_dump_json(by_alias=True, exclude_none=True)) + _MAC_LENGTH + 1 <= self.LIMIT

    @classmethod
    def unpack(cls, text: str | None) -> Self:
        tag, _, body = (text or "").partition(".")
        if not body or not hmac.compare_digest(tag.encode(), _tag(body).encode()):
            raise ForgedValue(cls.FORGED)
        return super().unpack(body)
