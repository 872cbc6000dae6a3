"""Action ids and the compact JSON that buttons carry (context travels in the button)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ALERT_MUTE = "alert_mute"
ALERT_UNMUTE = "alert_unmute"
RULE_MUTE_ALL = "rule_mute_all"
RULE_UNMUTE_ALL = "rule_unmute_all"
RULE_DISABLE = "rule_disable"
RULE_ENABLE = "rule_enable"
RULE_SNOOZE = "rule_snooze"
RULE_UNSNOOZE = "rule_unsnooze"
RULE_SHOW = "rule_show"
RULE_LINK = "rule_link"
CASE_OPEN = "case_open"

DISABLE_MODAL = "rule_disable_modal"
SNOOZE_MODAL = "rule_snooze_modal"


class Target(BaseModel):
    """What a button acts on. Short field names keep values well under Slack's 2000 characters."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    rule_id: str = Field(alias="r")
    space: str = Field("default", alias="s")
    alert_id: str | None = Field(None, alias="a")
    alert_uuid: str | None = Field(None, alias="u")
    option: str | None = Field(None, alias="o")  # e.g. a snooze duration

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def decode(cls, value: str | None) -> Target:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise ValueError("This button's value is not one the bot made.") from None
