"""Links shared in conversations (`link_shared`) and the app's unfurls of them (`chat.unfurl`).

What Slack does (docs.slack.dev: the `link_shared` event, `chat.unfurl`, "Unfurling links in messages"):

- A message that holds links to a domain of the app's `features.unfurl_domains` sends the app one
  `link_shared` event with those links (`domain`, `url`), the conversation, the message's `ts`
  (`message_ts`), an `unfurl_id` and `source` (`conversations_history` for a sent message,
  `composer` while it is being written: then `channel` is `COMPOSER`). Apps get none for their own
  messages, nor for links to other domains.
- `chat.unfurl` (scope `links:write`) takes `channel` and `ts`, or `unfurl_id` and `source`, and
  `unfurls`: a JSON map from each URL of that message to its unfurl (`blocks`, or attachment
  fields). A message it cannot find is `cannot_find_message`; a URL that is not one of the links the
  event named is `cannot_unfurl_url`; blocks are checked against a message's limits (50 blocks…).
  Slack shows each unfurl under the message, to everyone in the conversation.
- Work Objects: `chat.unfurl` also takes `metadata` (`{"entities": [...]}`; "either unfurls or metadata
  must be provided"). Each entity is checked with slack_sdk's Work Object models (its `entity_type` one
  of Slack's: item, file, task, content_item, incident) and for what the docs require of an unfurl's:
  `app_unfurl_url` (one of the links the event named, else `cannot_unfurl_url`), `url`,
  `external_ref.id` and `entity_payload.attributes.title.text`.
"""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.metadata import EntityMetadata

from devkit.fake_slack import block_kit
from devkit.fake_slack.records import SlackApiFailure
from devkit.fake_slack.web_api import Handler, json_argument

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack

COMPOSER = "COMPOSER"


@dataclass
class SharedLinks:
    """One message's links to the app's domains, as its `link_shared` event named them."""

    channel: str
    ts: str
    user: str
    urls: list[str]
    unfurl_id: str
    source: str
    unfurls: dict[str, dict[str, Any]] = field(default_factory=dict)  # what chat.unfurl set, by URL
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)  # its Work Objects, by app_unfurl_url


def domain_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def share(fake: FakeSlack, channel: str, text: str, *, user: str, composer: bool = False) -> dict[str, Any] | None:
    """`user` writes `text` in `channel` (or, `composer`, only types it): the message is posted and the
    `link_shared` event Slack would send the app is returned, or None when no link is to the app's domains."""
    words = [word.strip("<>|") for word in text.split()]
    urls = [w for w in words if w.startswith(("http://", "https://")) and domain_of(w) in fake.unfurl_domains]
    if composer:
        ts = f"{user}-{secrets.token_hex(16)}"
        unfurl_id, source, where = ts, "composer", COMPOSER
    else:
        ts = fake.post_as_user(channel, text, user=user)["ts"]
        unfurl_id = f"{channel}.{ts.replace('.', '')}.{secrets.token_hex(32)}"
        source, where = "conversations_history", channel
    if not urls:
        return None
    fake.shared_links[unfurl_id] = SharedLinks(where, ts, user, list(dict.fromkeys(urls)), unfurl_id, source)
    member = composer or fake.workspace.channel(channel).is_member
    return {
        "type": "link_shared",
        "channel": where,
        "is_bot_user_member": member,
        "user": user,
        "message_ts": ts,
        "unfurl_id": unfurl_id,
        "source": source,
        "links": [{"domain": domain_of(url), "url": url} for url in dict.fromkeys(urls)],
        "event_ts": f"{time.time():.6f}",
    }


def _shared(fake: FakeSlack, params: dict[str, Any]) -> SharedLinks:
    unfurl_id, source = params.get("unfurl_id"), params.get("source")
    channel, ts = params.get("channel"), params.get("ts")
    if unfurl_id and source:
        found = fake.shared_links.get(str(unfurl_id))
        if found is None or found.source != source:
            raise SlackApiFailure("cannot_find_message")
        return found
    if channel and ts:
        for links in fake.shared_links.values():
            if (links.channel, links.ts) == (str(channel), str(ts)):
                return links
        if str(channel) != COMPOSER:
            fake.workspace.channel(channel)  # channel_not_found for a conversation the bot cannot see
        raise SlackApiFailure("cannot_find_message")
    raise SlackApiFailure(
        "invalid_arguments",
        messages=["[ERROR] channel and ts, or unfurl_id and source, must be provided together"],
    )


def _entities(params: dict[str, Any], links: SharedLinks) -> dict[str, dict[str, Any]]:
    metadata = json_argument(params, "metadata", "invalid_metadata_format")
    if metadata is None:
        return {}
    entities = metadata.get("entities") if isinstance(metadata, dict) else None
    if not isinstance(entities, list) or not entities or not all(isinstance(e, dict) for e in entities):
        raise SlackApiFailure("invalid_metadata_format")
    found: dict[str, dict[str, Any]] = {}
    for index, entity in enumerate(entities):
        where = f"[json-pointer:/metadata/entities/{index}"
        try:
            EntityMetadata(**entity).validate_json()
        except (SlackObjectFormationError, TypeError) as error:
            raise SlackApiFailure("invalid_metadata_schema", messages=[f"[ERROR] {error} {where}]"]) from None
        title = ((entity.get("entity_payload") or {}).get("attributes") or {}).get("title") or {}
        required = {
            "app_unfurl_url": entity.get("app_unfurl_url"),
            "url": entity.get("url"),
            "external_ref/id": (entity.get("external_ref") or {}).get("id"),
            "entity_payload/attributes/title/text": title.get("text") if isinstance(title, dict) else None,
        }
        for name, value in required.items():
            if not isinstance(value, str) or not value:
                raise SlackApiFailure(
                    "invalid_metadata_schema", messages=[f"[ERROR] missing required field {where}/{name}]"]
                )
        if entity["app_unfurl_url"] not in links.urls:
            raise SlackApiFailure("cannot_unfurl_url")
        found[entity["app_unfurl_url"]] = copy.deepcopy(entity)
    return found


async def chat_unfurl(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    links = _shared(fake, params)
    entities = _entities(params, links)
    if params.get("unfurls") in (None, "") and not entities:
        raise SlackApiFailure("invalid_arguments", messages=["[ERROR] either unfurls or metadata must be provided"])
    unfurls = json_argument(params, "unfurls", "invalid_unfurls_format") if params.get("unfurls") else {}
    if not isinstance(unfurls, dict) or not all(isinstance(u, dict) for u in unfurls.values()):
        raise SlackApiFailure("invalid_unfurls_format")
    for url, unfurl in unfurls.items():
        if url not in links.urls:
            raise SlackApiFailure("cannot_unfurl_url")
        if "blocks" in unfurl:
            problems = block_kit.message_problems(unfurl["blocks"])
            if problems:
                raise SlackApiFailure("invalid_blocks", messages=problems)
    for url, unfurl in unfurls.items():
        links.unfurls[url] = copy.deepcopy(unfurl)
    links.entities.update(entities)
    if links.source == "conversations_history":
        message = fake.workspace.message(links.channel, links.ts)
        message["attachments"] = [
            {**copy.deepcopy(u), "is_app_unfurl": True, "app_unfurl_url": url, "app_id": fake.workspace.app_id}
            for url, u in links.unfurls.items()
        ]
    return {"ok": True}


METHODS: dict[str, Handler] = {"chat.unfurl": chat_unfurl}
