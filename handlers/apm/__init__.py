"""APM from Slack: agent configuration, agent keys and source maps."""

from __future__ import annotations

from handlers.apm import config, keys, sourcemap_upload, sourcemaps
from handlers.shared.feature import Contribution, Plumbing


def register(plumbing: Plumbing) -> Contribution:
    return Contribution(
        commands={
            "apm config list": config.list_configurations,
            "apm config set": config.set_configuration,
            "apm key create": keys.create_key,
            "apm sourcemaps list": sourcemaps.list_sourcemaps,
            "apm sourcemaps delete": sourcemaps.delete_sourcemap,
            "apm sourcemaps upload": sourcemap_upload.open_upload,
        },
        actions={**config.listeners(plumbing), **sourcemaps.listeners(plumbing)},
        views=sourcemap_upload.listeners(plumbing),
    )
