"""What the demo user sees of the fake Slack: one channel's messages and threads, the
ephemeral messages shown to them, and the modal on top of their screen.

The fake Slack keeps every view the bot ever opened; Slack's client is what closes them.
Here the page plays the client: `Conversation` remembers which views were closed
(submitted, cancelled, cleared) and which ephemerals were replaced through their response_url.
"""

from __future__ import annotations

import copy
from typing import Any

from devkit.fake_slack import FakeSlack
from devkit.fake_slack.views import stored_view

DEMO_USER = "U0ALICE"
DEMO_CHANNEL = "C0ALERTS"
# The app's message shortcuts, as manifest.json declares them.
MESSAGE_SHORTCUTS: list[dict[str, str]] = [
    {"callback_id": "open_case", "name": "Open Kibana case"},
    {"callback_id": "add_to_case", "name": "Add to Kibana case"},
]


class Conversation:
    def __init__(self, slack: FakeSlack, *, user: str = DEMO_USER, channel: str = DEMO_CHANNEL) -> None:
        self.slack = slack
        self.user = user
        self.channel = channel
        self.closed_views: set[str] = set()
        # response_url name → ts of the ephemeral message whose button handed it out
        self.ephemeral_sources: dict[str, str] = {}

    # ---- messages ----------------------------------------------------------------------
    def message(self, ts: str) -> dict[str, Any] | None:
        return self.slack.message(self.channel, ts)

    def ephemeral(self, ts: str) -> dict[str, Any] | None:
        return next((e for e in self.slack.ephemerals if e.get("ts") == ts and e.get("channel") == self.channel), None)

    def _replaced_ephemerals(self) -> set[str]:
        """Ephemerals that a later response_url post replaced or deleted (Slack's client drops them)."""
        gone = set()
        for post in self.slack.responses:
            source = self.ephemeral_sources.get(post.name)
            if source and (post.body.get("replace_original") or post.body.get("delete_original")):
                gone.add(source)
        return gone

    def add_ephemeral(self, text: str, blocks: list[Any] | None = None) -> None:
        """Something only the demo user sees (e.g. the body of a slash command's ack)."""
        ws = self.slack.workspace
        entry: dict[str, Any] = {"channel": self.channel, "user": self.user, "ts": ws.timestamps.next(), "text": text}
        if blocks:
            entry["blocks"] = blocks
        ws.ephemerals.append(entry)

    # ---- views ---------------------------------------------------------------------------
    def open_views(self) -> list[dict[str, Any]]:
        return [v for v in self.slack.views.values() if v["id"] not in self.closed_views]

    def top_view(self) -> dict[str, Any] | None:
        views = self.open_views()
        return copy.deepcopy(views[-1]) if views else None

    def view(self, view_id: str) -> dict[str, Any] | None:
        return self.slack.views.get(view_id)

    def close_view(self, view_id: str) -> None:
        """Close a view and every view pushed on top of it."""
        self.closed_views.add(view_id)
        changed = True
        while changed:  # bounded: each pass closes at least one more view or stops
            changed = False
            for view in self.slack.views.values():
                if view["id"] not in self.closed_views and view.get("previous_view_id") in self.closed_views:
                    self.closed_views.add(view["id"])
                    changed = True

    def clear_views(self, view_id: str) -> None:
        """`response_action: clear`: the whole stack the view belongs to."""
        root = (self.view(view_id) or {}).get("root_view_id", view_id)
        for view in self.slack.views.values():
            if view.get("root_view_id") == root:
                self.closed_views.add(view["id"])

    def update_view(self, view_id: str, new_view: dict[str, Any]) -> None:
        """`response_action: update`: Slack replaces the submitted view."""
        current = self.slack.views[view_id]
        self.slack.views[view_id] = stored_view(
            self.slack,
            new_view,
            view_id=view_id,
            previous=current["previous_view_id"],
            root=current["root_view_id"],
        )

    def push_view(self, view_id: str, new_view: dict[str, Any]) -> None:
        """`response_action: push`: a new view on top of the submitted one."""
        current = self.slack.views[view_id]
        new_id = self.slack.workspace.new_id("V")
        self.slack.views[new_id] = stored_view(
            self.slack, new_view, view_id=new_id, previous=view_id, root=current["root_view_id"]
        )

    # ---- what the page polls -------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        ws = self.slack.workspace
        gone = self._replaced_ephemerals()
        messages = sorted(ws.messages.get(self.channel, {}).values(), key=lambda m: float(m["ts"]))
        ephemerals = [
            e
            for e in ws.ephemerals
            if e.get("channel") == self.channel and e.get("user") in (self.user, None) and e["ts"] not in gone
        ]
        return {
            "me": self.user,
            "channel": {"id": self.channel, "name": ws.channel(self.channel).name},
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "users": {
                uid: {"name": u["name"], "real_name": u.get("real_name", u["name"]), "is_bot": u.get("is_bot", False)}
                for uid, u in ws.users.items()
            },
            "bot_user": ws.bot_user_id,
            "channels": {cid: c.name for cid, c in ws.channels.items()},
            "messages": copy.deepcopy(messages),
            "ephemerals": copy.deepcopy(ephemerals),
            "view": self.top_view(),
            "shortcuts": MESSAGE_SHORTCUTS,
        }
