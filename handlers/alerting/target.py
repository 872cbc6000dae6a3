"""What a rule or alert button acts on: the value the rule card, alert messages and rule modals carry."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from handlers.alerting import mute_end
from handlers.alerting.actions import snooze_duration
from handlers.shared.codec import Metadata, Packed, TooLarge
from handlers.shared.grammar import UsageError, is_identifier, is_space_id
from handlers.shared.guard import Aim

CUSTOM = "custom"  # the snooze menu's "Custom…": opens the form instead of snoozing
OPTION_VALUE_LIMIT = 150  # characters: Slack's limit for a menu option's value


class Target(Packed):
    """A rule, or one alert of it, in a space (and the menu's choice, when it came from one)."""

    rule_id: str = Field(alias="r", min_length=1, max_length=255)
    space: str = Field("default", alias="s", min_length=1, max_length=100)
    alert_id: str | None = Field(None, alias="a", max_length=512)
    alert_uuid: str | None = Field(None, alias="u", max_length=255)
    option: str | None = Field(None, alias="o", max_length=48)  # a snooze duration, or when a mute ends

    # A value that comes back from Slack obeys the same rules as the slash command's arguments.
    @field_validator("rule_id")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if not is_identifier(value):
            raise ValueError("not a rule id")
        return value

    @field_validator("space")
    @classmethod
    def _space(cls, value: str) -> str:
        if not is_space_id(value):
            raise ValueError("not a space id")
        return value

    @field_validator("alert_id")
    @classmethod
    def _alert_id(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("an empty alert id")
        return value

    @field_validator("option")
    @classmethod
    def _option(cls, value: str | None) -> str | None:
        if value is None or value == CUSTOM or mute_end.is_spec(value):
            return value  # a mute's end is checked, and resolved, when the mute is made
        try:
            return snooze_duration(value)
        except UsageError as error:
            raise ValueError(error.message) from None

    @property
    def audit_target(self) -> str:
        return self.rule_id + (f"/{self.alert_id}" if self.alert_id else "")

    def rule(self) -> Target:
        """The rule alone (what the rule-level buttons carry)."""
        return Target(rule_id=self.rule_id, space=self.space)

    def aim(self, *, channel: str | None = None) -> Aim:
        """For the guard: what the access check, the audit trail and error sentences name."""
        return Aim(self, self.space, self.rule_id, self.alert_id, channel)


class AlertReference(Metadata):
    """A menu option's short stand-in for a `Target` over Slack's 150 characters (a long alert id, or
    rule id): the store's row of an alert, sealed like a form's metadata so that only the bot's own is
    accepted. Without `option` it stands for that alert (a group message's alert menus); with it, for
    the snooze menu's choice on that alert's rule."""

    LIMIT: ClassVar[int] = OPTION_VALUE_LIMIT
    FORGED: ClassVar[str] = Packed.FORGED

    row: int = Field(alias="i", ge=1, lt=2**63)
    option: str | None = Field(None, alias="o", max_length=20)


def fits_an_option(target: Target) -> bool:
    return len(target.pack()) <= OPTION_VALUE_LIMIT


def option_value(target: Target, row: int | None) -> str:
    """What a menu option carries for `target`: the target itself when it fits, else a reference to the
    alert row `row` (with the target's snooze choice, if any)."""
    if fits_an_option(target):
        return target.pack()
    if row is None:
        raise TooLarge(f"a menu option's value is at most {OPTION_VALUE_LIMIT} characters, and no row stands for it")
    return AlertReference(row=row, option=target.option).pack()
