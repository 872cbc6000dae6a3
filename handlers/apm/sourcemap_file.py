"""Getting a source map file from Slack and checking it before anything reaches Kibana.

`fetch()` asks `files.info` for the file, downloads `url_private_download` with the bot
token (Slack redirects any other request to its sign-in page), stops reading past 1 MiB,
and checks the bytes are a JSON source map (`version` number, `sources` list of strings,
`mappings` string) — what Kibana's own validation requires. Every refusal is a
`SourceMapRefused` whose message is meant for the person who picked the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from handlers.shared.blocks import code

MAX_BYTES = 1024 * 1024  # Kibana's server.maxPayload default (1 MiB)
SCOPE_HINT = "the app needs the `files:read` scope (an admin adds it and reinstalls the app)"


class SourceMapRefused(Exception):
    """The file cannot be uploaded; `message` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SourceMapFile:
    name: str
    content: bytes

    def __repr__(self) -> str:
        return f"SourceMapFile({self.name!r}, {len(self.content)} bytes)"


def _mib(size: int) -> str:
    return f"{size / MAX_BYTES:.1f} MiB" if size >= MAX_BYTES / 10 else f"{size / 1024:.0f} KiB"


def too_large(name: str, size: int | None) -> SourceMapRefused:
    got = f" is {_mib(size)}" if size is not None else " is larger than 1 MiB"
    return SourceMapRefused(
        f"{code(name)}{got}; Kibana accepts source maps of at most 1 MiB. Upload the map of one bundle "
        "(split large bundles, or drop `sourcesContent`)."
    )


async def fetch(slack: AsyncWebClient, file_id: str, *, bot_token: str, http_timeout: float = 10.0) -> SourceMapFile:
    """files.info, download with the bot token, then `check()`; raises SourceMapRefused."""
    info = await slack.files_info(file=file_id)
    file: dict[str, Any] = info.get("file") or {}
    name = str(file.get("name") or file_id)
    size = file.get("size")
    if isinstance(size, int) and size > MAX_BYTES:
        raise too_large(name, size)
    url = file.get("url_private_download") or file.get("url_private")
    if not isinstance(url, str) or not url:
        raise SourceMapRefused(f"Slack gave no download link for {code(name)}; upload it again.")
    content = await download(url, name, bot_token=bot_token, http_timeout=http_timeout)
    check(name, content)
    return SourceMapFile(name, content)


async def download(url: str, name: str, *, bot_token: str, http_timeout: float) -> bytes:
    """GET a private Slack file with the bot token, reading at most MAX_BYTES (+1 to notice more)."""
    import httpx  # here: only an upload downloads, and importing httpx takes ~50 ms of start-up

    headers = {"Authorization": f"Bearer {bot_token}"}
    async with (
        httpx.AsyncClient(timeout=http_timeout, follow_redirects=False, trust_env=False) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        if response.is_redirect or response.status_code in (401, 403):
            raise SourceMapRefused(f"Slack did not let the bot download {code(name)}: {SCOPE_HINT}.")
        if response.status_code != 200:
            raise SourceMapRefused(
                f"Slack answered {response.status_code} when the bot downloaded {code(name)}; try again."
            )
        if response.headers.get("content-type", "").startswith("text/html"):
            raise SourceMapRefused(f"Slack sent a web page instead of {code(name)}: {SCOPE_HINT}.")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > MAX_BYTES:
                raise too_large(name, None)
            chunks.append(chunk)
    return b"".join(chunks)


def check(name: str, content: bytes) -> dict[str, Any]:
    """The parsed source map; SourceMapRefused when it is too large, not JSON, or not a source map."""
    if len(content) > MAX_BYTES:
        raise too_large(name, len(content))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceMapRefused(f"{code(name)} is not a text file, so it is not a JSON source map.") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceMapRefused(
            f"{code(name)} is not JSON ({error.msg} at line {error.lineno}, column {error.colno}). "
            "Pick the `.map` file your build wrote next to the bundle."
        ) from None
    problems = problems_of(value)
    if problems:
        raise SourceMapRefused(f"{code(name)} is JSON but not a source map: {'; '.join(problems)}.")
    assert isinstance(value, dict)
    return value


def problems_of(value: Any) -> list[str]:
    """What keeps a parsed JSON value from being a source map Kibana accepts."""
    if not isinstance(value, dict):
        return ["it must be a JSON object"]
    problems = []
    version = value.get("version")
    if isinstance(version, bool) or not isinstance(version, int | float):
        problems.append("`version` must be a number")
    sources = value.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problems.append("`sources` must be a list of file names")
    if not isinstance(value.get("mappings"), str):
        problems.append("`mappings` must be a string")
    return problems
