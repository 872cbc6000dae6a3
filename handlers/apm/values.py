"""What the APM buttons carry (packed with the shared codec)."""

from __future__ import annotations

from pydantic import Field, field_validator

from handlers.shared.codec import Packed
from handlers.shared.grammar import is_space_id
from handlers.shared.guard import Aim


def _space(value: str) -> str:
    """A value that comes back from Slack names a space as the command does."""
    if not is_space_id(value):
        raise ValueError("not a space id")
    return value


class ConfigChange(Packed):
    """An agent configuration to write, carried by the Overwrite button."""

    service: str = Field(alias="n", min_length=1, max_length=1000)
    environment: str | None = Field(None, alias="e", max_length=1000)
    settings: dict[str, str] = Field(alias="v")
    space: str = Field(alias="s", min_length=1, max_length=100)

    _valid_space = field_validator("space")(_space)

    @field_validator("settings")
    @classmethod
    def _settings(cls, value: dict[str, str]) -> dict[str, str]:
        if not value or any(not key or not setting for key, setting in value.items()):
            raise ValueError("settings are key=value pairs, neither empty")
        return value

    @property
    def target(self) -> str:
        """The audit target: `service/environment` (`*` for every environment)."""
        return f"{self.service}/{self.environment or '*'}"

    def aim(self) -> Aim:
        return Aim(self.target, self.space)


class SourceMapRef(Packed):
    """A source map to delete, carried by its Delete button."""

    id: str = Field(alias="i", min_length=1, max_length=255)
    space: str = Field(alias="s", min_length=1, max_length=100)
    label: str = Field("", alias="l", max_length=200)

    _valid_space = field_validator("space")(_space)

    def pack(self) -> str:
        return self.model_dump_json(by_alias=True)

    def aim(self) -> Aim:
        return Aim(self.id, self.space)
