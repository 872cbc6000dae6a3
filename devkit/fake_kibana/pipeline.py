"""Kibana's request pipeline in front of the handlers (behaviours.md §0–§3, §6 version header).

Order: route lookup (404) → authentication (401) → payload parsing (413, bad JSON 400)
→ kbn-xsrf (400) → APM version header (400) → route privileges (403) → handler
(validation 400, then 404/403/409…). Payload parsing sits where hapi puts it: after
authentication, before the onPostAuth xsrf check.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import date
from email import policy
from email.parser import BytesParser

from .errors import API_VERSION, Boom

MAX_PAYLOAD = 1048576
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
VERSION_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BAD_CREDENTIALS_HEADERS = {"www-authenticate": 'Basic realm="security", charset="UTF-8", ApiKey'}


def authenticate(
    headers: Mapping[str, str],
    api_keys: set[str],
    users: Mapping[str, str],
    api_key_owner: str,
    key_owners: Mapping[str, str] | None = None,
) -> str:
    """The authenticated username (a person's key: its owner, `key_owners`), or a 401 Boom."""
    header = headers.get("authorization")
    if not header:
        raise Boom(401, "Unauthorized")
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "apikey" and credentials in (key_owners or {}):
        return (key_owners or {})[credentials]
    if scheme.lower() == "apikey" and credentials in api_keys:
        return api_key_owner
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        if username in users and users[username] == password:
            return username
        who = f"user [{username}]" if username else "with provided credentials"
    elif scheme.lower() == "apikey":
        who = "with provided credentials"
    else:
        raise Boom(401, "Unauthorized")
    reason = f"unable to authenticate {who} for REST request [/_security/_authenticate]"
    message = f"[security_exception\n\tRoot causes:\n\t\tsecurity_exception: {reason}]: {reason}"
    raise Boom(401, message, headers=dict(BAD_CREDENTIALS_HEADERS))


def check_payload_size(headers: Mapping[str, str], body: bytes) -> None:
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_PAYLOAD:
        raise Boom(413, f"Payload content length greater than maximum allowed: {MAX_PAYLOAD}")
    if len(body) > MAX_PAYLOAD:  # streamed (chunked) body that overflowed
        if headers.get("content-type", "").lower().startswith("multipart/"):
            raise Boom(400, "Invalid multipart payload format")
        raise Boom(413, f"Payload content length greater than maximum allowed: {MAX_PAYLOAD}")


def parse_form(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """multipart/form-data fields: name -> (filename, bytes)."""
    if "boundary=" not in content_type:
        raise Boom(400, "Invalid content-type header: multipart missing boundary")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise Boom(400, "Invalid multipart payload format")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise Boom(400, "Invalid multipart payload format")
        payload = part.get_payload(decode=True)
        fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def check_xsrf(method: str, headers: Mapping[str, str]) -> None:
    if method not in SAFE_METHODS and "kbn-xsrf" not in headers and "kbn-version" not in headers:
        raise Boom(400, "Request must contain a kbn-xsrf header.")


def check_api_version(headers: Mapping[str, str], method: str, template: str) -> None:
    """Versioned public routes: missing header = the default (oldest) version."""
    version = headers.get("elastic-api-version")
    if version is None:
        return
    well_formed = VERSION_FORMAT.match(version) is not None
    if well_formed:
        try:
            date.fromisoformat(version)
        except ValueError:
            well_formed = False
    if not well_formed:
        raise Boom(400, f'Invalid version. Received "{version}", expected a valid date string formatted as YYYY-MM-DD.')
    if version != API_VERSION:
        raise Boom(
            400,
            f'No version "{version}" available for [{method.lower()}] [{template}]. '
            f"Available versions are: [{API_VERSION}]",
        )
