"""`/kibana connect` and `/kibana disconnect`: link your own Kibana API key, or forget it
(KIBANA_IDENTITY=person).

`connect` (and the *Connect Kibana* button of a refusal) opens a private form; the key pasted there
is checked against Kibana before anything is stored: a 401 is shown in the form ("Kibana rejected
this key"). Then the bot learns whose key it is (Elasticsearch, when ELASTICSEARCH_URL is set;
else the key's id), stores it encrypted, and answers privately "Connected as `alice` (API key
`ab12…`)". The link is the person's who submitted the form, as Slack's signed payload says: nothing
in the form or its metadata names anyone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import Field, SecretStr
from slack_bolt.async_app import AsyncAck

from bot.credentials import PersonKey, key_id_of, shown_key_id
from bot.kibana.acting import acting_for
from bot.kibana.errors import KibanaError, KibanaUnauthorized
from bot.kibana_owner import owner_of
from bot.services import Services
from handlers.shared.audit import record
from handlers.shared.blocks import Block, code, modal, plain, section
from handlers.shared.catalog import CONNECT_BUTTON, CONNECT_MODAL
from handlers.shared.codec import Metadata
from handlers.shared.context import Invocation
from handlers.shared.feature import Listener, Plumbing, Route
from handlers.shared.guard import Aim, Click, Submission, packed
from handlers.shared.identity import ConnectButton
from handlers.shared.interaction import Interaction
from handlers.shared.replies import Surface

KEY_BLOCK = "kibana_api_key_secret"  # `_secret`: its value is removed from every log line (bot/logs.py)
KEY_ACTION = "value"
# Slack waits 3 s for a submission's answer; the key's check against Kibana must fit in it.
CHECK_BUDGET = 2.2
NOT_PERSON_MODE = (
    "This bot acts in Kibana with its own credential (KIBANA_IDENTITY=bot), so there is no Kibana account "
    "of yours to connect."
)


class ConnectOrigin(Metadata):
    """Where the form was opened from: where the person is answered privately."""

    channel: str | None = Field(None, alias="c", max_length=64)
    response_url: str | None = Field(None, alias="r", max_length=1000)

    def surface(self, user: str) -> Surface:
        return Surface(user=user, channel=self.channel, response_url=self.response_url)


@dataclass
class PastedKey:
    """The key pasted in the form (never shown, logged or stored in clear)."""

    api_key: SecretStr
    key_id: str


def connect_form(origin: ConnectOrigin, space_hint: str) -> Block:
    blocks: list[Block] = [
        section(
            "Paste an API key of your own, so that what you do from Slack is done as you in Kibana, with "
            "your own privileges. Create it in Kibana: *Stack Management → API keys → Create API key* "
            f"(with an expiration), and copy its *Encoded* value. Kibana checks each action against your "
            f"role: for example *Rules: all* in space {code(space_hint)} to mute or snooze."
        ),
        {
            "type": "input",
            "block_id": KEY_BLOCK,
            "label": plain("Encoded API key"),
            "hint": plain("Stored encrypted; only its id is ever shown. `disconnect` forgets it."),
            "element": {"type": "plain_text_input", "action_id": KEY_ACTION, "max_length": 1000},
        },
    ]
    return modal(CONNECT_MODAL, "Connect Kibana", blocks, origin.pack(), submit="Connect")


def read_key(_origin: ConnectOrigin, view: dict[str, Any]) -> PastedKey | dict[str, str]:
    state = (view.get("state") or {}).get("values") or {}
    text = str(((state.get(KEY_BLOCK) or {}).get(KEY_ACTION) or {}).get("value") or "").strip()
    key_id = key_id_of(text)
    if key_id is None:
        return {
            KEY_BLOCK: "This is not an encoded API key: paste the *Encoded* value Kibana showed when you "
            "created the key (base64 of its id and secret)."
        }
    return PastedKey(SecretStr(text), key_id)


async def check_key(services: Services, pasted: PastedKey) -> str | None:
    """None when Kibana accepts the key; else what to show in the form."""
    candidate = PersonKey(team_id="", user_id="", api_key=pasted.api_key, key_id=pasted.key_id)
    try:
        with acting_for("", candidate):  # this one call carries the pasted key, and only it
            await asyncio.wait_for(services.kibana.status(), CHECK_BUDGET)
    except KibanaUnauthorized:
        return (
            "Kibana rejected this key (401): check that you copied the whole *Encoded* value, and that the "
            "key has not expired or been invalidated."
        )
    except TimeoutError:
        return "Kibana did not answer in time to check this key, so nothing was stored. Try again in a minute."
    except KibanaError as error:
        status = f" ({error.status_code})" if error.status_code else ""
        return f"Kibana could not check this key{status}, so nothing was stored. Try again in a minute."
    return None


def route(plumbing: Plumbing) -> Route:
    async def connect(inv: Invocation) -> None:
        if inv.services.people is None:
            await inv.reply(NOT_PERSON_MODE)
            return
        if not inv.trigger_id:
            raise RuntimeError("the command carried no trigger_id to open the connect form")
        origin = ConnectOrigin(channel=inv.actor.channel_id, response_url=inv.response_url)
        await inv.client.views_open(trigger_id=inv.trigger_id, view=connect_form(origin, inv.space))

    return connect


async def disconnect_route(inv: Invocation) -> None:
    people = inv.services.people
    if people is None:
        await inv.reply(NOT_PERSON_MODE)
        return
    if await people.disconnect(inv.actor.team_id, inv.actor.user_id):
        await record(inv.services, inv.actor, "disconnect", "kibana link", result="ok", detail="link forgotten")
        await inv.reply(
            "Your Kibana API key is forgotten: the bot no longer acts as you in Kibana. The key itself still "
            "works until you invalidate it in Kibana (*Stack Management → API keys*)."
        )
    else:
        await inv.reply(f"No Kibana API key was linked for you. `{inv.slash} connect` links one.")


def listeners(plumbing: Plumbing) -> tuple[dict[str, Listener], dict[str, Listener]]:
    """The *Connect Kibana* button's listener, and the form's submission listener."""
    services, replies = plumbing.services, plumbing.replies

    def origin_of(interaction: Interaction) -> ConnectOrigin:
        ConnectButton.unpack(interaction.value)  # ForgedValue: not a button the bot made
        return ConnectOrigin(channel=interaction.channel, response_url=interaction.response_url)

    async def open_form(origin: ConnectOrigin, interaction: Interaction) -> ConnectOrigin:
        if services.people is not None and interaction.trigger_id:
            form = connect_form(origin, services.settings.kibana_space)
            await services.slack.views_open(trigger_id=interaction.trigger_id, view=form)
        return origin

    async def clicked(_origin: ConnectOrigin, interaction: Interaction) -> None:
        if services.people is None:
            await replies.privately(interaction.surface, NOT_PERSON_MODE)

    def aim_click(_origin: ConnectOrigin) -> Aim:
        return Aim("kibana link", services.settings.kibana_space)

    button = Click(decode=origin_of, aim=aim_click, run=clicked, open_form=open_form)

    async def acknowledge(_origin: ConnectOrigin, pasted: PastedKey, ack: AsyncAck) -> bool:
        if services.people is None:
            await ack(response_action="errors", errors={KEY_BLOCK: NOT_PERSON_MODE})
            return False
        problem = await check_key(services, pasted)
        if problem is not None:
            await ack(response_action="errors", errors={KEY_BLOCK: problem})
            return False
        await ack()
        return True

    async def run(origin: ConnectOrigin, pasted: PastedKey, interaction: Interaction) -> None:
        people = services.people
        assert people is not None  # acknowledge refused the form otherwise
        actor = interaction.actor  # from Slack's signed payload: the person who submitted the form
        owner = await owner_of(services.settings, pasted.api_key)
        key = PersonKey(
            team_id=actor.team_id or "",
            user_id=actor.user_id,
            api_key=pasted.api_key,
            key_id=pasted.key_id,
            kibana_user=owner,
        )
        await people.connect(key)
        shown = f"API key {code(shown_key_id(pasted.key_id))}"
        said = f"Connected as {code(owner)} ({shown})" if owner else f"Connected with {shown}"
        await record(services, actor, "connect", "kibana link", result="ok", detail=said.replace("`", ""))
        await replies.privately(
            origin.surface(actor.user_id),
            f"{said}. What you do from Slack is now done as you in Kibana. "
            f"`{services.settings.slack_command} disconnect` forgets the key.",
        )

    async def tell(origin: ConnectOrigin, interaction: Interaction, text: str) -> object:
        return await replies.privately(origin.surface(interaction.actor.user_id), text)

    def aim_form(_origin: ConnectOrigin, _pasted: PastedKey) -> Aim:
        return Aim("kibana link", services.settings.kibana_space)

    form = Submission(
        decode=packed(ConnectOrigin.unpack),
        read=read_key,
        aim=aim_form,
        run=run,
        tell=tell,
        error_block=KEY_BLOCK,
        acknowledge=acknowledge,
    )
    return {CONNECT_BUTTON: plumbing.guard.click(button)}, {CONNECT_MODAL: plumbing.guard.submission(form)}
