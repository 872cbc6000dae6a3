"""APM from Slack: agent configuration, agent keys and source maps.

The commands live in `apm_config`, `apm_keys`, `apm_sourcemaps` and `apm_sourcemap_upload`
(their `@command` routes register on import); this module wires their buttons and modal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.services import Services

if TYPE_CHECKING:
    from bot.app import Runtime


def register(app: AsyncApp, services: Services, runtime: Runtime) -> None:
    """Wire this feature's listeners."""
    from handlers import apm_config, apm_keys, apm_sourcemap_upload, apm_sourcemaps

    del apm_keys  # imported for its @command route
    apm_config.register(app, services)
    apm_sourcemaps.register(app, services)
    apm_sourcemap_upload.register(app, services)
