"""What the APM buttons carry (packed with the shared codec)."""

from __future__ import annotations

from pydantic import Field

from handlers.shared.codec import Packed
from handlers.shared.guard import Aim


class ConfigChange(Packed):
    """An agent configuration to write, carried by the Overwrite button."""

    service: str = Field(alias="n", min_length=1, max_length=1000)
    environment: str | None = Field(None, alias="e", max_length=1000)
    settings: dict[str, str] = Field(alias="v")
    space: str = Field(alias="s", min_length=1, max_length=100)

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

    def pack(self) -> str:
        return self.model_dump_json(by_alias=True)

    def aim(self) -> Aim:
        return Aim(self.id, self.space)
