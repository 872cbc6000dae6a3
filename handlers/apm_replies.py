"""How the APM commands answer: through a `response_url`, and what their buttons carry.

Bolt's `respond` and the Web API client log every request body at DEBUG. A reply that
carries a secret (a new agent key) goes through `send(..., secret=True)`, whose client
logs through a logger set to WARNING, so the body never reaches any log handler.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from handlers.blocks import Block

log = logging.getLogger(__name__)

# Its own level (not the root's) decides whether slack_sdk formats the request body at all.
_SECRET_SAFE = logging.getLogger("kibana_chatops.secret_replies")
_SECRET_SAFE.setLevel(logging.WARNING)

BUTTON_VALUE_LIMIT = 2000  # Slack's limit on a button's value

CONFIG_OVERWRITE = "apm_config_overwrite"
CONFIG_CANCEL = "apm_config_cancel"
SOURCEMAP_DELETE = "apm_sourcemap_delete"
SOURCEMAP_UPLOAD_MODAL = "apm_sourcemap_upload"


class ReplyFailed(RuntimeError):
    """Slack did not accept a response_url post (expired, used too often, bad blocks)."""


async def send(
    response_url: str,
    text: str,
    *,
    blocks: list[Block] | None = None,
    public: bool = False,
    replace: bool = False,
    secret: bool = False,
) -> None:
    """Post to a response_url; `secret=True` keeps the body out of every log."""
    client = AsyncWebhookClient(response_url, logger=_SECRET_SAFE if secret else None)
    response = await client.send(
        text=text,
        blocks=blocks,
        response_type="in_channel" if public else "ephemeral",
        replace_original=replace,
    )
    if response.status_code != 200:
        raise ReplyFailed(f"Slack answered {response.status_code} to a response_url post")


class ConfigChange(BaseModel):
    """An agent configuration to write, carried by the Overwrite button."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    service: str = Field(alias="n")
    environment: str | None = Field(None, alias="e")
    settings: dict[str, str] = Field(alias="v")
    space: str = Field(alias="s")

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def decode(cls, value: str | None) -> ConfigChange:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise ValueError("This button's value is not one the bot made.") from None

    @property
    def target(self) -> str:
        """The audit target: `service/environment` (`*` for every environment)."""
        return f"{self.service}/{self.environment or '*'}"


class SourceMapRef(BaseModel):
    """A source map to delete, carried by its Delete button."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: str = Field(alias="i")
    space: str = Field(alias="s")
    label: str = Field("", alias="l")

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True)

    @classmethod
    def decode(cls, value: str | None) -> SourceMapRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise ValueError("This button's value is not one the bot made.") from None


def action_value(body: dict[str, Any]) -> str | None:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value")
    return value if isinstance(value, str) else None
