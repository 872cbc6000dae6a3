"""`apm key create`: the key goes only to the person who asked; the channel sees who made which key."""

from __future__ import annotations

import logging

from bot.kibana.errors import KibanaError
from bot.kibana.models.apm import AgentKey
from handlers.apm.actions import KEY_CREATE, AgentKeyArgs
from handlers.apm.explain import agent_key_needs_user
from handlers.shared.audit import record
from handlers.shared.blocks import Block, code, context, escape, section
from handlers.shared.context import Invocation

log = logging.getLogger(__name__)

ACTION = KEY_CREATE.name


def key_reply(key: AgentKey, privileges: list[str]) -> tuple[str, list[Block]]:
    """The private reply that carries the secret (never sent anywhere else)."""
    encoded = key.encoded.get_secret_value()
    listed = ", ".join(privileges)
    text = f"Agent key {code(key.name)} ({listed}) — shown only to you, only this once:\n```{encoded}```"
    blocks = [
        section(
            f"Agent key {code(key.name)} ({escape(listed)}) is ready. It is shown *only to you, only this "
            f"once* — copy it now:\n```{encoded}```"
        ),
        context(
            "Give it to the APM agent as its API key (e.g. `ELASTIC_APM_API_KEY`). "
            f"Key id {code(key.id)}: revoke it in Kibana (Stack Management → API keys) if it leaks."
        ),
    ]
    return text, blocks


async def create_key(inv: Invocation) -> None:
    args = inv.args(AgentKeyArgs)
    name, privileges = args.name, list(args.privileges)
    services = inv.services
    basic = services.settings.agent_key_auth
    if services.people is not None:
        # KIBANA_IDENTITY=person: the call would carry the person's own API key (never the bot's
        # KIBANA_AGENT_KEY_* user), and Elasticsearch refuses agent keys to API-key credentials.
        await record(
            services,
            inv.actor,
            ACTION,
            name,
            result="error",
            detail=f"privileges {','.join(privileges)}; a linked API key cannot create agent keys",
            space=inv.space,
        )
        await inv.reply(
            "Kibana cannot create an agent key with your linked API key (Elasticsearch refuses agent keys to "
            "API-key credentials), and the bot acts in Kibana only as you. Create it in Kibana instead: "
            "*APM → Settings → Agent keys → Create APM agent key*."
        )
        return
    if basic is None and services.kibana.auth_scheme == "ApiKey":
        # Elasticsearch refuses agent keys to API-key credentials (behaviours.md §11): do not ask it.
        await record(
            services,
            inv.actor,
            ACTION,
            name,
            result="error",
            detail=f"privileges {','.join(privileges)}; no KIBANA_AGENT_KEY_* credentials beside the API key",
            space=inv.space,
        )
        await inv.reply(agent_key_needs_user())
        return
    try:
        key = await services.kibana.create_agent_key(name, privileges, space=inv.space, basic_auth=basic)
    except KibanaError as error:
        await record(
            services,
            inv.actor,
            ACTION,
            name,
            result="error",
            kibana_status=error.status_code,
            detail=f"privileges {','.join(privileges)}",
            space=inv.space,
        )
        raise
    await record(
        services,
        inv.actor,
        ACTION,
        name,
        result="ok",
        detail=f"privileges {','.join(privileges)}; key id {key.id}",
        space=inv.space,
    )
    if inv.response_url is None:
        raise RuntimeError("the command carried no response_url to send the key privately")
    text, blocks = key_reply(key, privileges)
    try:
        await inv.replies.to_response_url(inv.response_url, text, blocks=blocks, secret=True)
    except Exception as error:  # the key exists but nobody has it: say so, without the key
        log.warning("could not deliver agent key %s (id %s) privately: %s", name, key.id, type(error).__name__)
        await inv.reply(
            f"Kibana created agent key {code(name)} (id {code(key.id)}), but Slack refused the private "
            "reply that carries it. Revoke that key in Kibana (Stack Management → API keys) and run the command again."
        )
        return
    await inv.reply(f"{inv.actor.mention} created agent key {code(name)} ({', '.join(privileges)})", public=True)
