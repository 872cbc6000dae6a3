"""`apm config list` and `apm config set`, with the side-by-side Overwrite confirmation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.kibana.errors import KibanaBadRequest
from bot.kibana.models.apm import AgentConfiguration
from bot.services import Services
from handlers.apm.actions import CONFIG_CANCEL, CONFIG_OVERWRITE, CONFIG_SET, ConfigSetArgs, ServiceArgs
from handlers.apm.values import ConfigChange
from handlers.shared.audit import audited
from handlers.shared.blocks import Block, actions, button, clip, code, context, escape, header, section
from handlers.shared.context import Actor, Invocation
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import Click, packed
from handlers.shared.interaction import Interaction
from handlers.shared.words import count

log = logging.getLogger(__name__)

MESSAGE_BLOCKS = 50
ALREADY_EXISTS = "A configuration already exists"
ACTION = CONFIG_SET.name


# --- rendering -------------------------------------------------------------------------------


def environment_label(environment: str | None) -> str:
    return f"environment {code(environment)}" if environment else "all environments"


def _settings_lines(settings: dict[str, str]) -> str:
    if not settings:
        return "_no settings_"
    return "\n".join(f"{code(key)} = {code(value)}" for key, value in sorted(settings.items()))


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never changed"
    at = datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    return f"changed {at:%Y-%m-%d %H:%M} UTC"


def _sort_key(config: AgentConfiguration) -> tuple[str, str]:
    return (config.service.name or "", config.service.environment or "")


def config_list_blocks(
    configs: list[AgentConfiguration], *, space: str, service: str | None, slash: str
) -> tuple[str, list[Block]]:
    """The text and blocks of `apm config list`: one section and one context per configuration."""
    shown = sorted(configs, key=_sort_key)
    scope = f" of {code(service)}" if service else ""
    text = f"{count(len(shown), 'APM agent configuration')}{scope} in space {space}"
    blocks: list[Block] = [header("APM agent configurations")]
    if not shown:
        blocks.append(
            section(
                f"No agent configuration{scope} in space `{space}`. Add one with "
                f"`{slash} apm config set <service> [<environment>] key=value…`."
            )
        )
        return text, blocks
    blocks.append(context(f"{count(len(shown), 'configuration')}{scope} in space `{space}`"))
    room = (MESSAGE_BLOCKS - len(blocks) - 1) // 2  # two blocks each, one left for "and N more"
    for config in shown[:room]:
        name = escape(config.service.name or "(every service)")
        blocks.append(
            section(f"*{name}* · {environment_label(config.service.environment)}\n{_settings_lines(config.settings)}")
        )
        applied = "applied by the agent" if config.applied_by_agent else "not yet applied by any agent"
        agent = f" · agent {code(config.agent_name)}" if config.agent_name else ""
        blocks.append(context(f"{applied} · {_when(config.timestamp)}{agent}"))
    if len(shown) > room:
        hint = "" if service else f"; narrow it with `{slash} apm config list <service>`"
        blocks.append(context(f"…and {len(shown) - room} more{hint}."))
    return text, blocks


def comparison_blocks(current: dict[str, str] | None, change: ConfigChange, *, slash: str) -> list[Block]:
    """Current and proposed settings side by side, with Overwrite and Cancel (when the value fits)."""
    proposed = change.settings
    marked = []
    for key, value in sorted(proposed.items()):
        line = f"{code(key)} = {code(value)}"
        if current is not None and key not in current:
            line += "  _new_"
        elif current is not None and current[key] != value:
            line += "  _changed_"
        marked.append(line)
    where = f"{code(change.service)} ({environment_label(change.environment)}) in space `{change.space}`"
    blocks: list[Block] = [
        section(f"An agent configuration already exists for {where}. Overwrite it?"),
        section(
            "Settings",
            fields=[
                clip("*Current*\n" + (_settings_lines(current) if current is not None else "_unknown_"), 2000),
                clip("*Proposed*\n" + "\n".join(marked), 2000),
            ],
        ),
    ]
    dropped = sorted(set(current or {}) - set(proposed))
    if dropped:
        names = ", ".join(f"{code(k)}" for k in dropped)
        blocks.append(context(f"Overwriting replaces the whole configuration: {names} will be removed."))
    if not change.fits():
        blocks.append(
            context("This change is too large for a button; run the command again with `--overwrite` to apply it.")
        )
        return blocks
    blocks.append(
        actions(
            button("Overwrite", CONFIG_OVERWRITE, change.pack(), style="danger"),
            button("Cancel", CONFIG_CANCEL, "cancel"),
            block_id="apm_config_choice",
        )
    )
    return blocks


def _settings_summary(settings: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(settings.items()))


def done_sentence(change: ConfigChange, *, overwrote: bool) -> str:
    verb = "overwrote" if overwrote else "set"
    return (
        f"{verb} the APM agent configuration of {code(change.service)} "
        f"({environment_label(change.environment)}) in space `{change.space}`: "
        f"{code(clip(_settings_summary(change.settings), 1500))}"
    )


# --- commands ----------------------------------------------------------------------------------


async def list_configurations(inv: Invocation) -> None:
    wanted = inv.args(ServiceArgs).service
    configs = await inv.services.kibana.list_agent_configurations(space=inv.space)
    if wanted:
        configs = [c for c in configs if c.service.name == wanted]
    text, blocks = config_list_blocks(configs, space=inv.space, service=wanted, slash=inv.slash)
    await inv.reply(text, blocks=blocks)


def _existing(configs: list[AgentConfiguration], change: ConfigChange) -> AgentConfiguration | None:
    for config in configs:
        if config.service.name == change.service and (config.service.environment or None) == change.environment:
            return config
    return None


async def set_configuration(inv: Invocation) -> None:
    args = inv.args(ConfigSetArgs)
    change = ConfigChange(service=args.service, environment=args.environment, settings=args.settings, space=inv.space)
    services = inv.services
    if not args.overwrite:
        existing = _existing(await services.kibana.list_agent_configurations(space=inv.space), change)
        if existing is not None:
            await _ask_to_overwrite(inv, dict(existing.settings), change)
            return
    try:
        await write(services, inv.actor, change, overwrite=args.overwrite)
    except KibanaBadRequest as error:
        if ALREADY_EXISTS not in error.message:
            raise
        # Someone created it between the list and the write: ask, as above.
        existing = _existing(await services.kibana.list_agent_configurations(space=inv.space), change)
        await _ask_to_overwrite(inv, dict(existing.settings) if existing else None, change)
        return
    await inv.reply(f"{inv.actor.mention} {done_sentence(change, overwrote=args.overwrite)}", public=True)


async def _ask_to_overwrite(inv: Invocation, current: dict[str, str] | None, change: ConfigChange) -> None:
    await inv.reply(
        f"An agent configuration already exists for {code(change.service)} ({environment_label(change.environment)}).",
        blocks=comparison_blocks(current, change, slash=inv.slash),
    )


async def write(services: Services, actor: Actor, change: ConfigChange, *, overwrite: bool) -> None:
    """PUT the configuration and write the audit trail (either way)."""
    call = services.kibana.put_agent_configuration(
        change.service, change.environment, change.settings, overwrite=overwrite, space=change.space
    )
    detail = ("overwrite: " if overwrite else "") + _settings_summary(change.settings)
    await audited(services, actor, ACTION, change.target, call, detail=detail, space=change.space)


# --- buttons -----------------------------------------------------------------------------------


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services, replies = plumbing.services, plumbing.replies

    async def overwrite(change: ConfigChange, interaction: Interaction) -> None:
        await write(services, interaction.actor, change, overwrite=True)
        response_url = interaction.response_url or ""
        sentence = done_sentence(change, overwrote=True)
        await replies.to_response_url(response_url, f"Done: you {sentence}.", replace=True)
        await replies.to_response_url(response_url, f"{interaction.actor.mention} {sentence}", public=True)

    async def on_cancel(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        response_url = Interaction.parse(body, context).response_url
        if response_url:
            await replies.to_response_url(response_url, "Left the agent configuration unchanged.", replace=True)

    on_overwrite = plumbing.guard.click(Click(decode=packed(ConfigChange.unpack), aim=ConfigChange.aim, run=overwrite))
    return {CONFIG_OVERWRITE: on_overwrite, CONFIG_CANCEL: on_cancel}
