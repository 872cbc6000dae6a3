"""Searching Kibana's alerts-as-data (the `.alerts-*` indices) in Elasticsearch.

Kibana keeps one document per alert and updates it in place as the alert goes on, recovers or is
untracked (`kibana.alert.status` active / recovered / untracked, `event.action` open / active /
close, `@timestamp` the START of the rule run that last wrote it; an untracking changes only the
status, `kibana.alert.end` and `kibana.alert.time_range`). Which documents are new to the poller is
the `ReadFrom` of `bot.alerts_index.positions`, not an order of `@timestamp`. A document is seen
again each time it is rewritten, and a new alert may first be seen already as `event.action:
active` (two runs between two polls): callers key what they post on (rule, `kibana.alert.uuid`,
space), not on `event.action`.

`search_alert_documents` makes one search per space for every subscription of that space (rules
and tags of interest together), paging with `search_after` in pages of at most `page_size` up to
`max_pages`, and returns the documents as they came (`AlertDocument`, bot.alerts_index.documents):
the poller reads into a model only those that changed. `search_alert_changes` reads them all; a
document that cannot be read (a field of the wrong type, a date that is none) is reported in
`unreadable`, and the others are read all the same. Errors are typed
(`AlertsIndexUnreachable`, `…Unauthorized`, `…Forbidden`, …; bot.alerts_index.errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.alerts_index.documents import (
    SOURCE_FIELDS,
    STATUSES,
    AlertChange,
    AlertCursor,
    AlertDocument,
    UnreadableAlert,
)
from bot.alerts_index.errors import ALERTS_INDEX, AlertsIndexForbidden, AlertsIndexRejected, translate
from bot.alerts_index.positions import ReadFrom
from bot.settings import Settings

if TYPE_CHECKING:  # the client is imported when it is first used (~0.1 s a start-up without ELASTICSEARCH_URL)
    from elasticsearch import AsyncElasticsearch

MAX_PAGE_SIZE = 10_000  # index.max_result_window's default: Elasticsearch refuses a larger page
DEFAULT_PAGE_SIZE = 500
DEFAULT_MAX_PAGES = 20
SORT = [{"@timestamp": {"order": "asc"}}, {"kibana.alert.uuid": {"order": "asc"}}]


@dataclass(frozen=True)
class Interest:
    """What the subscriptions of one space want: these rule ids, these tags, or everything."""

    rule_ids: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def of(cls, *, rule_ids: Iterable[str] = (), tags: Iterable[str] = (), everything: bool = False) -> Interest:
        return cls(frozenset(rule_ids), frozenset(tags), everything)

    def __or__(self, other: Interest) -> Interest:
        return Interest(self.rule_ids | other.rule_ids, self.tags | other.tags, self.everything or other.everything)

    @property
    def empty(self) -> bool:
        return not (self.everything or self.rule_ids or self.tags)


@dataclass
class AlertDocuments:
    """The alert documents after a cursor as they came, oldest first, not yet read (`AlertDocument`)."""

    documents: list[AlertDocument] = field(default_factory=list)
    cursor: AlertCursor | None = None
    complete: bool = True  # False when `max_pages` stopped the paging: call again from `cursor`
    searches: int = 0


@dataclass
class AlertChanges:
    """The alert documents after a cursor, oldest first; `cursor` is where the next call starts."""

    changes: list[AlertChange] = field(default_factory=list)
    unreadable: list[UnreadableAlert] = field(default_factory=list)
    cursor: AlertCursor | None = None
    complete: bool = True  # False when `max_pages` stopped the paging: call again from `cursor`
    searches: int = 0


# --------------------------------------------------------------------------- the client and the search
def client_from_settings(settings: Settings, **overrides: Any) -> AsyncElasticsearch:
    """The official async client for ELASTICSEARCH_URL with the bot's credentials and TLS settings."""
    from elasticsearch import AsyncElasticsearch

    if settings.elasticsearch_url is None:
        raise ValueError("ELASTICSEARCH_URL is not set")
    url = str(settings.elasticsearch_url).rstrip("/")
    options: dict[str, Any] = {
        "request_timeout": settings.kibana_timeout,
        "max_retries": 1,
        "retry_on_timeout": False,
    }
    kind, credentials = settings.elasticsearch_credentials
    if kind == "api_key":
        options["api_key"] = credentials
    elif kind == "basic":
        options["basic_auth"] = credentials
    if url.startswith("https://"):
        tls = settings.elasticsearch_tls
        if isinstance(tls, str):
            options["ca_certs"] = tls
        else:
            options["verify_certs"] = tls
            options["ssl_show_warn"] = tls
    options.update(overrides)
    return AsyncElasticsearch(url, **options)


def build_query(
    space: str, interest: Interest, *, statuses: Sequence[str] = STATUSES, read_from: ReadFrom | None = None
) -> dict[str, Any]:
    """The `bool` query for one space: its alerts in these states, of the rules or tags of interest,
    and (with `read_from`) only those new to the poller."""
    filters: list[dict[str, Any]] = [
        {"term": {"kibana.space_ids": space}},
        {"terms": {"kibana.alert.status": list(statuses)}},
    ]
    if read_from is not None:
        filters.append(read_from.query())
    query: dict[str, Any] = {"filter": filters}
    if not interest.everything:
        should: list[dict[str, Any]] = []
        if interest.rule_ids:
            should.append({"terms": {"kibana.alert.rule.uuid": sorted(interest.rule_ids)}})
        if interest.tags:
            should.append({"terms": {"kibana.alert.rule.tags": sorted(interest.tags)}})
        query["should"] = should
        query["minimum_should_match"] = 1
    return {"bool": query}


async def search_alert_changes(
    es: AsyncElasticsearch,
    *,
    space: str,
    interest: Interest,
    cursor: AlertCursor | None,
    read_from: ReadFrom | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int = DEFAULT_MAX_PAGES,
    index: str = ALERTS_INDEX,
    url: str = "",
) -> AlertChanges:
    """`search_alert_documents`, every document read: into an `AlertChange`, or an `UnreadableAlert`
    saying which field is wrong (the others are read all the same)."""
    found = await search_alert_documents(
        es,
        space=space,
        interest=interest,
        cursor=cursor,
        read_from=read_from,
        page_size=page_size,
        max_pages=max_pages,
        index=index,
        url=url,
    )
    result = AlertChanges(cursor=found.cursor, complete=found.complete, searches=found.searches)
    for document in found.documents:
        change = document.change()
        if isinstance(change, UnreadableAlert):
            result.unreadable.append(change)
        else:
            result.changes.append(change)
    return result


async def search_alert_documents(
    es: AsyncElasticsearch,
    *,
    space: str,
    interest: Interest,
    cursor: AlertCursor | None,
    read_from: ReadFrom | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int = DEFAULT_MAX_PAGES,
    index: str = ALERTS_INDEX,
    url: str = "",
) -> AlertDocuments:
    """The alert documents of `space` for `interest` (those `read_from` finds new, or all), in
    (`@timestamp`, `kibana.alert.uuid`) order from after `cursor`, as they came (not yet read).

    One search per page (pages of `page_size`, at most `max_pages`); a page shorter than `page_size`
    ends the paging. Without a cursor it reads from the first document in that order."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE} (index.max_result_window)")
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    result = AlertDocuments(cursor=cursor)
    if interest.empty:
        return result
    query = build_query(space, interest, read_from=read_from)
    where = url or _url_of(es)
    while result.searches < max_pages:
        arguments: dict[str, Any] = {
            "index": index,
            "query": query,
            "sort": SORT,
            "size": page_size,
            "track_total_hits": False,
            "source": SOURCE_FIELDS,
            "ignore_unavailable": True,
            "allow_no_indices": True,
        }
        if result.cursor is not None:
            arguments["search_after"] = result.cursor.search_after()
        try:
            answer = await es.search(**arguments)
        except Exception as error:
            raise translate(error, url=where, index=index) from None
        result.searches += 1
        hits = _hits(answer.body)
        page = [AlertDocument(hit) for hit in hits]
        result.documents.extend(page)
        if page:
            result.cursor = page[-1].cursor
        if len(hits) < page_size:
            return result
    result.complete = False
    return result


async def alerts_readable(es: AsyncElasticsearch, *, index: str = ALERTS_INDEX, url: str = "") -> None:
    """Raise `AlertsIndexForbidden` unless the credentials may read `index`.

    A search alone cannot tell: Elasticsearch silently leaves out of a wildcard the indices the
    credentials may not read (200, no hits). `_security/user/_has_privileges` can (it answers for an
    API key's own, limited privileges too)."""
    try:
        answer = await es.security.has_privileges(index=[{"names": [index], "privileges": ["read"]}])
    except Exception as error:
        raise translate(error, url=url or _url_of(es), index=index) from None
    body = answer.body
    if not body.get("has_all_requested"):
        user = body.get("username") or "the bot"
        raise AlertsIndexForbidden(
            f"the bot's Elasticsearch credentials (user [{user}]) may not read {index}: give them the index "
            f"privilege `read` on `{index}`",
            indices=index,
            privileges=["read"],
            who=f"user [{user}]",
        )


def _hits(body: Any) -> list[dict[str, Any]]:
    try:
        hits = body["hits"]["hits"]
    except (KeyError, TypeError):
        raise AlertsIndexRejected("Elasticsearch's search answer has no hits.hits") from None
    if not isinstance(hits, list):
        raise AlertsIndexRejected("Elasticsearch's search answer has no hits.hits")
    return hits


def _url_of(es: AsyncElasticsearch) -> str:
    try:
        node = next(iter(es.transport.node_pool.all()))
        return str(node.base_url)
    except Exception:
        return "ELASTICSEARCH_URL"
