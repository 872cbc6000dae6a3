"""APM from Slack: agent configuration, agent keys and source maps."""

from __future__ import annotations

from handlers.apm import config, keys, sourcemap_upload, sourcemaps
from handlers.apm.actions import (
    ACTIONS,
    CONFIG_LIST,
    CONFIG_SET,
    KEY_CREATE,
    SOURCEMAPS_DELETE,
    SOURCEMAPS_LIST,
    SOURCEMAPS_UPLOAD,
)
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "register"]


def register(plumbing: Plumbing) -> Contribution:
    return Contribution(
        commands={
            CONFIG_LIST.name: config.list_configurations,
            CONFIG_SET.name: config.set_configuration,
            KEY_CREATE.name: keys.create_key,
            SOURCEMAPS_LIST.name: sourcemaps.list_sourcemaps,
            SOURCEMAPS_DELETE.name: sourcemaps.delete_sourcemap,
            SOURCEMAPS_UPLOAD.name: sourcemap_upload.open_upload,
        },
        actions={**config.listeners(plumbing), **sourcemaps.listeners(plumbing)},
        views=sourcemap_upload.listeners(plumbing),
    )
