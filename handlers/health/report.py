"""The alerting-health report, on demand (`/kibana health`) and on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from bot.kibana.acting import KibanaNotLinked, PersonForbidden, PersonKeyRejected
from bot.kibana.client import KibanaClient
from bot.kibana.errors import KibanaError, KibanaForbidden, KibanaUnauthorized
from bot.kibana.models import AlertingHealth
from handlers.shared.blocks import Block, context, escape, header, section

_ICON = {
    "ok": ":large_green_circle:",
    "warn": ":large_yellow_circle:",
    "error": ":red_circle:",
    "unreachable": ":black_circle:",
}
_PROBLEM_WORDS = {
    "401": "credentials rejected (401)",
    "403": "not allowed to read alerting health (403)",
    "unreachable": "Kibana unreachable",
}


@dataclass(frozen=True)
class HealthOutcome:
    """What one health check found: the health, or why there is none."""

    space: str
    checked_at: datetime
    health: AlertingHealth | None = None
    problem: str | None = None  # "unreachable", "401", "403"
    detail: str = ""

    # Worked out once per outcome: a tick posts one outcome to every subscription of its space.
    @cached_property
    def status(self) -> str:
        """ok, warn (a sub-state is not ok), or unreachable (no health could be read)."""
        if self.health is None:
            return "unreachable"
        states = self.sub_states()
        return "ok" if all(s == "ok" for s, _ in states.values()) else "warn"

    def sub_states(self) -> dict[str, tuple[str, str]]:
        """name -> (status, when Kibana last computed it, as text)."""
        return dict(self._sub_states)

    @cached_property
    def _sub_states(self) -> dict[str, tuple[str, str]]:
        if self.health is None:
            return {}
        framework = self.health.alerting_framework_health
        return {
            "decryption": (framework.decryption_health.status, _when(framework.decryption_health.timestamp)),
            "execution": (framework.execution_health.status, _when(framework.execution_health.timestamp)),
            "read": (framework.read_health.status, _when(framework.read_health.timestamp)),
        }

    def summary(self) -> str:
        """A stable string of what matters for --on-change (status, sub-states, problem)."""
        if self.health is None:
            return f"unreachable:{self.problem}"
        states = ",".join(f"{k}={s}" for k, (s, _) in self.sub_states().items())
        return f"{self.status};{states}"

    @classmethod
    def from_error(cls, space: str, error: KibanaError, checked_at: datetime | None = None) -> HealthOutcome:
        if isinstance(error, KibanaUnauthorized):
            problem, detail = (
                "401",
                "Kibana rejected the bot's credentials (401): check KIBANA_API_KEY "
                "(or KIBANA_USERNAME and KIBANA_PASSWORD).",
            )
        elif isinstance(error, KibanaForbidden):
            problem, detail = (
                "403",
                f"The bot's credentials may not read alerting health (403): {escape(error.message)}. "
                "Give its API key the Kibana privilege to read rules (Stack Management > Rules) in this space.",
            )
        else:
            status = f" ({error.status_code})" if error.status_code else ""
            problem, detail = "unreachable", f"Kibana could not be reached{status}: {escape(error.message)}"
        return cls(space=space, checked_at=checked_at or datetime.now(UTC), problem=problem, detail=detail)


async def check_health(kibana: KibanaClient, space: str) -> HealthOutcome:
    """Read the alerting health of `space`; a Kibana failure becomes an outcome, not an exception."""
    try:
        health = await kibana.health(space=space)
    except (KibanaNotLinked, PersonKeyRejected, PersonForbidden):
        raise  # a person's own key (KIBANA_IDENTITY=person): said to them in Kibana's terms, not as the bot's
    except KibanaError as error:
        return HealthOutcome.from_error(space, error)
    return HealthOutcome(space=space, checked_at=datetime.now(UTC), health=health)


def health_blocks(outcome: HealthOutcome, *, footer: str | None = None) -> list[Block]:
    """One Block Kit message: status, sub-states, security advice, space and check time."""
    when = outcome.checked_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    where = f"Space `{outcome.space}` · checked {when}"
    trailer = [context(where, footer) if footer else context(where)]
    status = outcome.status
    blocks: list[Block] = [header(f"Kibana alerting health: {status}")]
    if outcome.health is None:
        words = _PROBLEM_WORDS.get(outcome.problem or "", "no report")
        blocks.append(section(f"{_ICON['unreachable']} *No report — {words}:* {outcome.detail}"))
        return blocks + trailer
    lines = [
        f"{_ICON.get(state, ':white_circle:')} *{name}*: {state} (as of {timestamp})"
        for name, (state, timestamp) in outcome.sub_states().items()
    ]
    blocks.append(section(f"{_ICON[status]} Overall *{status}*\n" + "\n".join(lines)))
    health = outcome.health
    advice = []
    if not health.is_sufficiently_secure:
        advice.append(
            ":warning: *Not sufficiently secure*: enable TLS between Elasticsearch and Kibana and API keys "
            "(`xpack.security.authc.api_key.enabled`), or rules cannot run reliably."
        )
    if not health.has_permanent_encryption_key:
        advice.append(
            ":warning: *No permanent encryption key*: set `xpack.encryptedSavedObjects.encryptionKey` in "
            "kibana.yml (32+ characters), or rules stop working after a restart."
        )
    if advice:
        blocks.append(section("\n".join(advice)))
    else:
        blocks.append(context("Sufficiently secure: yes · permanent encryption key: yes"))
    return blocks + trailer


def health_text(outcome: HealthOutcome) -> str:
    """The notification text (shown in push notifications and by screen readers)."""
    if outcome.health is None:
        return f"Kibana alerting health: unreachable (space {outcome.space}) — {outcome.detail}"
    return f"Kibana alerting health: {outcome.status} (space {outcome.space})"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown time"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
