"""Uploaded files: files.info and the private download URL.

Like Slack, `url_private_download` only serves the file to a request carrying
`Authorization: Bearer <bot token>`; anything else is redirected (302) to the sign-in
page, which answers 200 with HTML — the classic trap of saving a login page as the file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from devkit.fake_slack.records import SlackApiFailure
from devkit.fake_slack.web_api import Handler, required

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack

LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body>Sign in</body></html>"


@dataclass
class StoredFile:
    id: str
    name: str
    content: bytes
    mimetype: str
    user: str
    created: int


def file_object(fake: FakeSlack, stored: StoredFile) -> dict[str, Any]:
    """The `file` object of files.info."""
    base = f"{fake.base_url}files-pri/{fake.workspace.team_id}-{stored.id}"
    filetype = stored.name.rsplit(".", 1)[-1] if "." in stored.name else "binary"
    return {
        "id": stored.id,
        "created": stored.created,
        "timestamp": stored.created,
        "name": stored.name,
        "title": stored.name,
        "mimetype": stored.mimetype,
        "filetype": filetype,
        "pretty_type": filetype.upper(),
        "user": stored.user,
        "user_team": fake.workspace.team_id,
        "editable": False,
        "size": len(stored.content),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "url_private": f"{base}/{stored.name}",
        "url_private_download": f"{base}/download/{stored.name}",
        "permalink": f"https://{fake.workspace.team_domain}.slack.com/files/{stored.user}/{stored.id}/{stored.name}",
    }


async def files_info(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "file")
    stored = fake.files.get(str(params["file"]))
    if stored is None:
        raise SlackApiFailure("file_not_found")
    return {"ok": True, "file": file_object(fake, stored), "comments": [], "response_metadata": {"next_cursor": ""}}


def new_file(fake: FakeSlack, name: str, content: bytes, mimetype: str, user: str) -> StoredFile:
    stored = StoredFile(fake.workspace.new_id("F"), name, content, mimetype, user, int(time.time()))
    fake.files[stored.id] = stored
    return stored


async def download(fake: FakeSlack, request: web.Request) -> web.StreamResponse:
    """GET /files-pri/{team}-{file_id}/[download/]{name}."""
    team_and_id = request.match_info["team_file"]
    file_id = team_and_id.split("-", 1)[-1]
    stored = fake.files.get(file_id)
    fake.downloads.append(
        {"file": file_id, "authorized": request.headers.get("Authorization") == f"Bearer {fake.bot_token}"}
    )
    if request.headers.get("Authorization") != f"Bearer {fake.bot_token}":
        raise web.HTTPFound(location=f"/?redirect={request.path}")
    if stored is None or stored.name != request.match_info["name"]:
        raise web.HTTPNotFound(text="file not found")
    return web.Response(
        body=stored.content,
        content_type=stored.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{stored.name}"'},
    )


async def login_page(request: web.Request) -> web.Response:
    return web.Response(text=LOGIN_PAGE, content_type="text/html")


METHODS: dict[str, Handler] = {"files.info": files_info}
