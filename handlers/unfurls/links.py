"""Which Kibana object a link to KIBANA_PUBLIC_URL names: a rule, a case or an alert, in a space.

The shapes are Kibana's own pages, with `/s/<space>` before `/app/…` outside the default space:
- a rule: `/app/management/insightsAndAlerting/triggersActions/rule/<id>` (what the bot links to);
- a case: `/app/management/insightsAndAlerting/cases/<id>`, `/app/observability/cases/<id>`,
  `/app/security/cases/<id>` (the app of its owner, as the bot links to them);
- an alert: what Kibana puts in `kibana.alert.url`: `/app/observability/alerts/<uuid>` for Stack and
  Observability rules, `/app/security/alerts/redirect/<uuid>` for Security detection rules.
Anything else (another host, another page, a malformed id) is no link of the bot's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from bot.identifiers import is_space_id
from handlers.shared.grammar import is_identifier

Kind = Literal["rule", "case", "alert"]

_SPACE = re.compile(r"^/s/([^/]+)(/.*)$")
_PAGES: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("rule", re.compile(r"^/app/management/insightsAndAlerting/triggersActions/rule/([^/]+)/?$")),
    ("case", re.compile(r"^/app/(?:management/insightsAndAlerting|observability|security)/cases/([^/]+)/?$")),
    ("alert", re.compile(r"^/app/observability/alerts/([^/]+)/?$")),
    ("alert", re.compile(r"^/app/security/alerts/redirect/([^/]+)/?$")),
)


@dataclass(frozen=True)
class KibanaLink:
    url: str  # as shared (chat.unfurl names it so)
    kind: Kind
    object_id: str  # the rule id, case id or alert uuid
    space: str


def parse_link(url: str, base: str) -> KibanaLink | None:
    """The object `url` names, when it is a page of the Kibana at `base` (KIBANA_PUBLIC_URL)."""
    shared, ours = urlsplit(url), urlsplit(base)
    if (shared.scheme, (shared.hostname or "").lower(), shared.port) != (
        ours.scheme,
        (ours.hostname or "").lower(),
        ours.port,
    ):
        return None
    root = ours.path.rstrip("/")
    if not shared.path.startswith(f"{root}/"):
        return None
    path, space = shared.path[len(root) :], "default"
    in_space = _SPACE.match(path)
    if in_space:
        space, path = unquote(in_space[1]), in_space[2]
        if not is_space_id(space):
            return None
    for kind, page in _PAGES:
        found = page.match(path)
        if found:
            object_id = unquote(found[1])
            return KibanaLink(url, kind, object_id, space) if is_identifier(object_id) else None
    return None
