"""The bot's knowledge of its Kibana (version, licence, what it supports), refreshed periodically."""

from __future__ import annotations

import asyncio
import logging

from .capabilities import Capabilities, KibanaInfo, derive
from .client import KibanaClient
from .errors import KibanaError

log = logging.getLogger(__name__)


async def read_info(kibana: KibanaClient, *, agent_key_credentials: bool) -> KibanaInfo:
    """Version from `GET /api/status`, licence from `GET /api/licensing/info`; what cannot be read
    stays None (and `error` says why)."""
    version = licence = status = None
    problems: list[str] = []
    try:
        version = (await kibana.status()).version.number
    except KibanaError as error:
        problems.append(f"version: {error}")
    try:
        found = (await kibana.licensing_info()).license
        if found is not None:
            licence, status = found.type, found.status
    except KibanaError as error:
        problems.append(f"licence: {error}")
    return KibanaInfo(
        version=version,
        license_type=licence,
        license_status=status,
        auth_scheme=kibana.auth_scheme,
        agent_key_credentials=agent_key_credentials,
        error="; ".join(problems) or None,
    )


class KibanaProfile:
    """What the running bot knows about its Kibana. Until the first read, everything is assumed to
    work (Kibana's answers, and the error sentences, then decide)."""

    def __init__(self, capabilities: Capabilities | None = None) -> None:
        self.current = capabilities or Capabilities()
        self._tried = asyncio.Event()

    async def first_read(self) -> None:
        """Return once a first read has been tried (whether Kibana answered or not)."""
        await self._tried.wait()

    async def refresh(self, kibana: KibanaClient, *, agent_key_credentials: bool) -> Capabilities:
        try:
            return self._learn(await read_info(kibana, agent_key_credentials=agent_key_credentials))
        finally:
            self._tried.set()

    def _learn(self, info: KibanaInfo) -> Capabilities:
        if info.version is None and info.license_type is None and self.current.info.version is not None:
            # Kibana did not answer this time: keep what was known rather than forget it.
            log.warning("Kibana: could not re-read version and licence (%s); keeping the last ones", info.error)
            return self.current
        before = self.current.info
        self.current = derive(info)
        if (before.version, before.license_type, before.license_status) != (
            info.version,
            info.license_type,
            info.license_status,
        ):
            missing = "; ".join(m.line() for m in self.current.missing) or "none"
            log.info("Kibana: %s; missing: %s", info.summary(), missing)
        if info.error:
            log.warning("Kibana: could not read everything about it: %s", info.error)
        return self.current
