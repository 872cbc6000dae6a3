"""Every setting of the bot, read from the environment or a `.env` file.

One class, validated at start-up. A missing or malformed setting becomes a
`ConfigError` whose message names the environment variable and what it
expects; `bot.cli` prints it and exits with status 2.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.identifiers import CaseOwner, is_space_id


class ConfigError(Exception):
    """A setting is missing or malformed; the message is meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
        env_ignore_empty=True,  # `NAME=` (as .env.example has it) means unset, not an empty value
    )

    slack_bot_token: SecretStr = Field(description="the bot token, starting with xoxb-")
    slack_app_token: SecretStr | None = Field(None, description="the app-level token, starting with xapp-")
    slack_signing_secret: SecretStr | None = Field(None, description="the app's signing secret")
    slack_api_url: AnyHttpUrl = Field(AnyHttpUrl("https://slack.com/api/"), description="an http(s) URL")
    slack_command: str = Field("/kibana", description="a slash command such as /kibana")
    slack_reply_max_wait: float = Field(10.0, ge=0, le=300, description="seconds, between 0 and 300")
    slack_pacing: bool = Field(True, description="true or false")
    slack_work_objects: bool = Field(False, description="true or false")
    slack_posts_per_minute: int = Field(300, ge=1, le=10_000, description="a number of messages, 1-10000")
    slack_replicas: int = Field(2, ge=1, le=100, description="a number of replicas, 1-100")

    kibana_url: AnyHttpUrl = Field(AnyHttpUrl("http://localhost:5601"), description="an http(s) URL")
    kibana_public_url: AnyHttpUrl | None = Field(None, description="an http(s) URL")
    kibana_api_key: SecretStr | None = Field(None, description="an encoded Kibana API key")
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_agent_key_username: str | None = None
    kibana_agent_key_password: SecretStr | None = None
    kibana_space: str = Field("default", description="a Kibana space id (a-z, 0-9, _ and -)")
    kibana_ca_cert: Path | None = Field(None, description="the path of a readable PEM file")
    kibana_verify_tls: bool = Field(True, description="true or false")
    kibana_timeout: float = Field(10.0, gt=0, le=300, description="seconds, between 0 and 300")
    kibana_identity: Literal["bot", "person"] = Field("bot", description="bot or person")
    credentials_key: SecretStr | None = Field(
        None, description="one or more Fernet keys, comma-separated (the first encrypts, all decrypt)"
    )

    elasticsearch_url: AnyHttpUrl | None = Field(None, description="an http(s) URL")
    elasticsearch_api_key: SecretStr | None = Field(None, description="an encoded Elasticsearch API key")
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None
    elasticsearch_ca_cert: Path | None = Field(None, description="the path of a readable PEM file")
    elasticsearch_verify_tls: bool | None = Field(None, description="true or false")

    database_url: str = Field("sqlite+aiosqlite:///./kibana-chatops.db", description="a SQLAlchemy URL")

    alert_webhook_token: SecretStr | None = None
    alert_channel: str | None = None
    alert_channels: str | None = Field(None, description="comma-separated Slack channel ids, such as C0123,C0456")
    alert_webhook_rate: float = Field(100.0, ge=0.01, le=100_000, description="deliveries a second, 0.01-100000")
    alert_webhook_burst: int = Field(1000, ge=1, le=1_000_000, description="a number of deliveries, 1-1000000")
    alert_webhook_bytes_per_second: int = Field(
        1_048_576, ge=262_144, le=1_073_741_824, description="bytes a second, 262144 (256 KiB) to 1073741824"
    )
    alert_update_interval: float = Field(3.0, ge=0.1, le=300, description="seconds, between 0.1 and 300")
    alert_updates_per_minute: int = Field(20, ge=1, le=600, description="a number of updates, 1-600")

    access_policy: Path | None = Field(None, description="the path of a readable TOML file")

    health_channel: str | None = None
    health_schedule: str | None = None

    alerts_subscription_channel: str | None = None
    alerts_subscription: str | None = Field(
        None, description="--all, --rule <id> or --tag <tag>, optionally with --space <id>"
    )
    alerts_poll_interval: float = Field(5.0, ge=1, le=3600, description="seconds, between 1 and 3600")
    alerts_max_per_workspace: int = Field(500, ge=1, le=100_000, description="a number of subscriptions, 1-100000")
    alerts_page_size: int = Field(5000, ge=10, le=10_000, description="alert documents per search, 10-10000")

    case_owner: CaseOwner = Field("cases", description="cases, observability or securitySolution")
    case_sync_days: int = Field(14, ge=1, le=365, description="a number of days, 1-365")
    case_sync_interval: int = Field(60, ge=10, le=3600, description="a number of seconds, 10-3600")

    mute_end_reminder: str = Field(
        "15m", description="a duration such as 15m, 1h or 1d (0 turns reminders off), at most 7d"
    )
    tz: str = Field("UTC", description="an IANA time zone such as Europe/Paris")

    health_max_per_channel: int = Field(10, ge=1, le=1000, description="a number of subscriptions, 1-1000")
    health_max_per_workspace: int = Field(200, ge=1, le=100_000, description="a number of subscriptions, 1-100000")

    audit_refusals_per_minute: int = Field(
        20, ge=0, le=100_000, description="a number of refusals, 0 (record all) to 100000"
    )
    audit_retention_days: int = Field(90, ge=1, le=3650, description="a number of days, 1-3650")
    alert_history_days: int = Field(30, ge=1, le=3650, description="a number of days, 1-3650")
    alert_claim_reminder: str | None = Field(
        None, description="a duration such as 15m, 1h or 1d (a whole number and s, m, h or d), or empty for off"
    )
    alert_oncall: str | None = Field(None, description="a Slack user group id (S…) or user id (U… or W…)")

    port: int = Field(3000, ge=1, le=65535, description="a TCP port, 1-65535")
    http_header_timeout: float = Field(10.0, gt=0, le=300, description="seconds, between 0 and 300")
    http_body_timeout: float = Field(10.0, gt=0, le=300, description="seconds, between 0 and 300")
    http_keep_alive_timeout: float = Field(5.0, gt=0, le=300, description="seconds, between 0 and 300")
    http_max_connections: int = Field(200, ge=1, le=100_000, description="a number of requests, 1-100000")
    http_max_connections_per_client: int = Field(
        100, ge=0, le=100_000, description="a number of connections, 0 (no cap) to 100000"
    )
    http_max_header_bytes: int = Field(16_384, ge=1024, le=1_048_576, description="bytes, 1024-1048576")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["text", "json"] = Field("text", description="text or json")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("mute_end_reminder")
    @classmethod
    def _reminder(cls, value: str) -> str:
        text = value.strip().lower()
        if text == "0":
            return text
        found = re.fullmatch(r"(\d{1,4})([mhd])", text)
        if found is None or not 1 <= int(found.group(1)) * {"m": 1, "h": 60, "d": 1440}[found.group(2)] <= 7 * 1440:
            raise ValueError("a duration such as 15m, 1h or 1d (0 turns reminders off), at most 7d")
        return text

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Europe/Paris") from None
        return value.strip()

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("an app-level token starting with xapp-")
        return value

    @field_validator("slack_command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError("a slash command such as /kibana")
        return value

    @field_validator("alert_channels")
    @classmethod
    def _channels(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for channel in (c.strip() for c in value.split(",")):
            if not re.fullmatch(r"[CG][A-Z0-9]{2,20}", channel):
                raise ValueError("comma-separated Slack channel ids, such as C0123,C0456")
        return value

    @field_validator("alert_claim_reminder")
    @classmethod
    def _claim_reminder(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"[1-9]\d{0,5}[smhd]", value.strip().lower()):
            raise ValueError(cls.model_fields["alert_claim_reminder"].description)
        return value.strip().lower()

    @field_validator("alert_oncall")
    @classmethod
    def _oncall(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"[SUW][A-Z0-9]{2,20}", value.strip()):
            raise ValueError(cls.model_fields["alert_oncall"].description)
        return value.strip()

    @field_validator("kibana_identity", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("credentials_key")
    @classmethod
    def _credentials_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from bot.credentials import CredentialsKeyInvalid, credentials_keys

        try:
            credentials_keys(value.get_secret_value())
        except CredentialsKeyInvalid as invalid:
            raise ValueError(f"{cls.model_fields['credentials_key'].description} ({invalid})") from None
        return value

    @field_validator("kibana_space")
    @classmethod
    def _space(cls, value: str) -> str:
        if not is_space_id(value):
            raise ValueError("a Kibana space id (a-z, 0-9, _ and -)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("sqlite+aiosqlite:///path.db or postgresql+psycopg://user@host/db")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("elasticsearch_url")
    @classmethod
    def _es_url(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and (value.username or value.password):
            raise ValueError("an http(s) URL without credentials (use ELASTICSEARCH_API_KEY or _USERNAME/_PASSWORD)")
        return value

    @field_validator("kibana_ca_cert", "elasticsearch_ca_cert", "access_policy")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"the path of a readable file ({value} does not exist)")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> Settings:
        if self.kibana_password is not None and not self.kibana_username:
            raise _named("KIBANA_USERNAME", "a user name, since KIBANA_PASSWORD is set")
        if self.kibana_username and self.kibana_password is None and self.kibana_api_key is None:
            raise _named("KIBANA_PASSWORD", "the password of KIBANA_USERNAME")
        if bool(self.kibana_agent_key_username) != (self.kibana_agent_key_password is not None):
            if self.kibana_agent_key_username:
                raise _named("KIBANA_AGENT_KEY_PASSWORD", "the password of KIBANA_AGENT_KEY_USERNAME")
            raise _named("KIBANA_AGENT_KEY_USERNAME", "a user name, since KIBANA_AGENT_KEY_PASSWORD is set")
        if self.elasticsearch_password is not None and not self.elasticsearch_username:
            raise _named("ELASTICSEARCH_USERNAME", "a user name, since ELASTICSEARCH_PASSWORD is set")
        if self.elasticsearch_username and self.elasticsearch_password is None:
            raise _named("ELASTICSEARCH_PASSWORD", "the password of ELASTICSEARCH_USERNAME")
        if bool(self.health_channel) != bool(self.health_schedule):
            missing = "HEALTH_SCHEDULE" if self.health_channel else "HEALTH_CHANNEL"
            raise _named(missing, "to be set together with HEALTH_CHANNEL and HEALTH_SCHEDULE")
        if self.health_schedule:  # checked here, so that a bad one stops start-up before anything opens
            from bot.schedule import EXAMPLES, ScheduleError, parse_schedule

            try:
                parse_schedule(self.health_schedule, offer_on_change=False)  # it has no --on-change
            except ScheduleError as error:
                raise _named("HEALTH_SCHEDULE", f"a schedule such as {EXAMPLES} ({error.problem})") from None
        self._alerts_subscription()
        if self.alert_claim_reminder and not self.alert_oncall:
            raise _named(
                "ALERT_ONCALL", "a Slack user group (S…) or user (U…) to remind, since ALERT_CLAIM_REMINDER is set"
            )
        if self.kibana_identity == "person" and self.credentials_key is None:
            raise _named(
                "CREDENTIALS_KEY",
                "one or more Fernet keys, comma-separated, since KIBANA_IDENTITY=person (make one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)',
            )
        return self

    def _alerts_subscription(self) -> None:
        if bool(self.alerts_subscription_channel) != bool(self.alerts_subscription):
            missing = "ALERTS_SUBSCRIPTION" if self.alerts_subscription_channel else "ALERTS_SUBSCRIPTION_CHANNEL"
            raise _named(missing, "to be set together with ALERTS_SUBSCRIPTION_CHANNEL and ALERTS_SUBSCRIPTION")
        if not self.alerts_subscription:
            return
        from bot.alert_filters import AlertFilterError, parse_setting

        try:
            parse_setting(self.alerts_subscription, self.kibana_space)
        except AlertFilterError as error:
            expected = "--all, --rule <id> or --tag <tag>, optionally with --space <id>"
            raise _named("ALERTS_SUBSCRIPTION", f"{expected} ({error.message.rstrip('.')})") from None
        if self.elasticsearch_url is None:
            raise _named("ELASTICSEARCH_URL", "the Elasticsearch URL alert subscriptions read .alerts-* from")

    @property
    def configured_alert_subscription(self) -> tuple[str, str, str, str] | None:
        """(channel, space, kind, value) of the alert subscription declared in settings."""
        if not self.alerts_subscription or not self.alerts_subscription_channel:
            return None
        from bot.alert_filters import parse_setting

        found, space = parse_setting(self.alerts_subscription, self.kibana_space)
        return self.alerts_subscription_channel, space, found.kind, found.value

    # --- derived values -------------------------------------------------------------

    @property
    def mute_reminder_before(self) -> timedelta | None:
        """How long before a mute or snooze ends whoever made it is reminded; None: never."""
        text = self.mute_end_reminder
        if text == "0":
            return None
        unit = {"m": "minutes", "h": "hours", "d": "days"}[text[-1]]
        return timedelta(**{unit: int(text[:-1])})

    @property
    def zone(self) -> ZoneInfo:
        """TZ: where "until 09:00" is 09:00."""
        return ZoneInfo(self.tz)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def claim_reminder_after(self) -> timedelta | None:
        """ALERT_CLAIM_REMINDER as a length of time; None when reminders are off."""
        if not self.alert_claim_reminder:
            return None
        units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
        return timedelta(**{units[self.alert_claim_reminder[-1]]: int(self.alert_claim_reminder[:-1])})

    @property
    def alert_channel_allowlist(self) -> frozenset[str] | None:
        """The channels webhooks may post to; None when any channel is allowed."""
        if not self.alert_channels:
            return None
        return frozenset(c.strip() for c in self.alert_channels.split(",") if c.strip())

    @property
    def kibana_link_base(self) -> str:
        return str(self.kibana_public_url or self.kibana_url).rstrip("/")

    @property
    def elasticsearch_credentials(self) -> tuple[str, str | tuple[str, str] | None]:
        """("api_key", encoded) or ("basic", (user, password)) for Elasticsearch, or ("none", None):
        its own credentials when set, else Kibana's (a Kibana API key is an Elasticsearch API key,
        and Kibana's users are Elasticsearch users)."""
        if self.elasticsearch_api_key is not None:
            return "api_key", self.elasticsearch_api_key.get_secret_value()
        if self.elasticsearch_username and self.elasticsearch_password is not None:
            return "basic", (self.elasticsearch_username, self.elasticsearch_password.get_secret_value())
        if self.kibana_api_key is not None:
            return "api_key", self.kibana_api_key.get_secret_value()
        if self.kibana_username and self.kibana_password is not None:
            return "basic", (self.kibana_username, self.kibana_password.get_secret_value())
        return "none", None

    @property
    def elasticsearch_tls(self) -> bool | str:
        """A CA bundle path, or whether to verify: ELASTICSEARCH_CA_CERT / _VERIFY_TLS, else Kibana's."""
        ca_cert = self.elasticsearch_ca_cert or (
            None if self.elasticsearch_verify_tls is not None else self.kibana_ca_cert
        )
        if ca_cert is not None:
            return str(ca_cert)
        return self.kibana_verify_tls if self.elasticsearch_verify_tls is None else self.elasticsearch_verify_tls

    @property
    def secret_values(self) -> list[str]:
        """Every configured secret, for log redaction."""
        secrets = [
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.kibana_api_key,
            self.kibana_password,
            self.kibana_agent_key_password,
            self.elasticsearch_api_key,
            self.elasticsearch_password,
            self.alert_webhook_token,
        ]
        values = [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
        if self.credentials_key is not None:  # each of its keys, alone too
            values.extend(k.strip() for k in self.credentials_key.get_secret_value().split(",") if k.strip())
        for username, password in (
            (self.kibana_username, self.kibana_password),
            (self.elasticsearch_username, self.elasticsearch_password),
        ):
            if username and password is not None:
                # The Basic Authorization header carries both, base64-encoded: redact that form too.
                pair = f"{username}:{password.get_secret_value()}".encode()
                values.append(base64.b64encode(pair).decode())
        if self.agent_key_auth is not None:
            values.append(base64.b64encode(":".join(self.agent_key_auth).encode()).decode())
        return values

    @property
    def acts_as_person(self) -> bool:
        """KIBANA_IDENTITY=person: every Kibana call made for a person carries that person's own key."""
        return self.kibana_identity == "person"

    @property
    def agent_key_auth(self) -> tuple[str, str] | None:
        """The Basic credentials used only to create APM agent keys (None when not set)."""
        if not self.kibana_agent_key_username or self.kibana_agent_key_password is None:
            return None
        return self.kibana_agent_key_username, self.kibana_agent_key_password.get_secret_value()


class _NamedError(ValueError):
    def __init__(self, variable: str, expected: str) -> None:
        super().__init__(f"{variable}: expected {expected}")
        self.variable = variable
        self.expected = expected


def _named(variable: str, expected: str) -> _NamedError:
    return _NamedError(variable, expected)


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise `ConfigError` with one operator-facing sentence."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def require_http_mode(settings: Settings) -> None:
    if settings.slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET: expected the app's signing secret (required in HTTP mode)")


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        ctx = error.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, _NamedError):
            lines.append(f"{inner.variable}: expected {inner.expected}")
            continue
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        field = Settings.model_fields.get(name.lower())
        if error["type"] == "missing":
            expected = (field.description if field and field.description else "a value") + " (required)"
        elif isinstance(inner, ValueError) and not isinstance(inner, _NamedError):
            expected = str(inner)
        else:
            expected = field.description if field and field.description else error["msg"]
        lines.append(f"{name}: expected {expected}")
    return "; ".join(dict.fromkeys(lines))
