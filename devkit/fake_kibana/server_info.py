"""`GET /api/status` and `GET /api/licensing/info`: the version and licence the fake plays (§11)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from .calls import Call, Reply
from .rules import iso

FEATURE_LICENSES = {"security": "basic", "graph": "platinum", "ml": "platinum", "watcher": "gold"}
RANK = {"basic": 0, "standard": 1, "gold": 2, "platinum": 3, "enterprise": 4, "trial": 4}


def status(call: Call) -> Reply:
    """Kibana's status (the parts a client reads: `version.number`, the overall level)."""
    state = call.state
    build = int(hashlib.sha1(state.version.encode()).hexdigest()[:6], 16)  # noqa: S324 - a stable fake number
    body = {
        "name": "fake-kibana",
        "uuid": "5b2de169-2785-441b-ae8c-186a1936b17d",
        "version": {
            "number": state.version,
            "build_hash": hashlib.sha1(state.version.encode()).hexdigest(),  # noqa: S324
            "build_number": build,
            "build_snapshot": False,
            "build_flavor": "traditional",
            "build_date": "2025-01-01T00:00:00.000Z",
        },
        "status": {
            "overall": {"level": "available", "summary": "All services and plugins are available"},
            "core": {
                "elasticsearch": {"level": "available", "summary": "Elasticsearch is available"},
                "savedObjects": {"level": "available", "summary": "SavedObjects service has completed migrations"},
            },
            "plugins": {},
        },
        "metrics": {"last_updated": iso(call.now), "collection_interval_in_millis": 5000},
    }
    return Reply(200, body)


def licensing_info(call: Call) -> Reply:
    """`license.toJSON()` of Kibana's licensing plugin: the licence and which features it allows."""
    state = call.state
    kind = state.license_type
    expiry = call.now + timedelta(days=30 if kind == "trial" else 365)
    active = state.license_status == "active"
    body = {
        "license": {
            "uid": "fake-license-" + kind,
            "type": kind,
            "mode": kind,
            "expiryDateInMillis": int(expiry.timestamp() * 1000),
            "status": state.license_status,
        },
        "features": {
            name: {"isAvailable": active and RANK[kind] >= RANK[need], "isEnabled": True}
            for name, need in FEATURE_LICENSES.items()
        },
        "signature": hashlib.sha256(f"{kind}:{state.license_status}".encode()).hexdigest(),
    }
    return Reply(200, body)
