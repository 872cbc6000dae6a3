"""Whose Kibana API key this is, where Elasticsearch can say (`GET /_security/_authenticate`).

Kibana itself has no public "who am I" route: its current-user route is internal
(`GET /internal/security/me`, refused to callers outside Kibana's own UI from 9.0 unless they send
the internal-origin header), so the bot does not call it. With ELASTICSEARCH_URL set, Elasticsearch
answers for the key (a Kibana API key is an Elasticsearch API key); otherwise the key is named by
its id, which the encoded key itself carries.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from bot.settings import Settings

log = logging.getLogger(__name__)


async def owner_of(settings: Settings, api_key: SecretStr) -> str | None:
    """The username Elasticsearch authenticates `api_key` as; None when it cannot be asked or did not say."""
    if settings.elasticsearch_url is None:
        return None
    from bot.alerts_index.search import client_from_settings

    client = client_from_settings(settings, api_key=api_key.get_secret_value(), basic_auth=None)
    try:
        answer = await client.security.authenticate()
        username = answer.body.get("username")
    except Exception as error:  # the key works in Kibana; only its owner's name is missing
        log.info("Elasticsearch did not say whose Kibana key was linked (%s)", type(error).__name__)
        return None
    finally:
        await client.close()
    return username if isinstance(username, str) and username else None
