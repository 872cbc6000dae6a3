"""`_search`: the request body (SearchSourceBuilder#parseXContent), sorting, `search_after`, paging,
`track_total_hits` and `_source` filtering, over already-resolved documents.

Messages: "Unknown key for a START_OBJECT in [x]." and its VALUE_* / START_ARRAY forms are
SearchSourceBuilder's; "[size] parameter cannot be negative, found [-1]" is SearchSourceBuilder#size;
"Result window is too large, …" is SearchService#validateSearchSource (index.max_result_window,
default 10,000); "Sort must contain at least one field." and "search_after has N value(s) but sort
has M." are SearchAfterBuilder#buildFieldDoc; "No mapping found for [x] in order to sort on" is
FieldSortBuilder (query_shard_exception). The last three fail on every shard, so Elasticsearch
answers them as a `search_phase_execution_exception` ("all shards failed") with the cause as root.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from .errors import EsError, parsing, shard_failure
from .query import (
    DATE_FIELDS,
    LONG_MAX,
    LONG_MIN,
    MAPPED_FIELDS,
    NUMERIC_FIELDS,
    comparable,
    compile_query,
    is_scoring,
    values,
)

MAX_RESULT_WINDOW = 10_000
DEFAULT_TRACK_TOTAL_HITS = 10_000
SOURCE_KEYS = ("query", "size", "from", "sort", "search_after", "track_total_hits", "_source", "timeout")
IGNORED_KEYS = ("seq_no_primary_term", "version", "explain", "stored_fields", "docvalue_fields", "fields")


@dataclass(frozen=True)
class Stored:
    """One document as an index holds it."""

    index: str
    id: str
    source: dict[str, Any]


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool
    missing_first: bool


def _token(value: Any) -> str:
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, int | float):
        return "VALUE_NUMBER"
    if value is None:
        return "VALUE_NULL"
    return "VALUE_STRING"


def merge_params(body: dict[str, Any] | None, params: dict[str, str]) -> dict[str, Any]:
    """URL parameters `size`, `from`, `sort` and `track_total_hits` as the body would carry them
    (RestSearchAction#parseSearchRequest); the URL wins, as in Elasticsearch."""
    merged = dict(body or {})
    for name in ("size", "from"):
        if name in params:
            try:
                merged[name] = int(params[name])
            except ValueError:
                raise EsError(
                    400,
                    {"type": "illegal_argument_exception", "reason": f"Failed to parse int parameter [{name}] "
                     f"with value [{params[name]}]"},
                ) from None  # fmt: skip
    if "track_total_hits" in params:
        raw = params["track_total_hits"]
        merged["track_total_hits"] = raw == "true" if raw in ("true", "false") else int(raw)
    if "sort" in params:
        merged["sort"] = [
            {part.partition(":")[0]: part.partition(":")[2] or "asc"} for part in params["sort"].split(",") if part
        ]
    return merged


def run_search(body: dict[str, Any], documents: list[Stored], first_index: str) -> dict[str, Any]:
    """The `hits` part of a search answer, or an EsError."""
    for key, value in body.items():
        if key not in SOURCE_KEYS and key not in IGNORED_KEYS:
            raise parsing(f"Unknown key for a {_token(value)} in [{key}].")
    size = body.get("size", 10)
    start = body.get("from", 0)
    if not isinstance(size, int) or isinstance(size, bool):
        raise parsing("[size] failed to parse field [size]")
    if size < 0:
        raise EsError(400, {"type": "illegal_argument_exception",
                            "reason": f"[size] parameter cannot be negative, found [{size}]"})  # fmt: skip
    if not isinstance(start, int) or start < 0:
        raise EsError(400, {"type": "illegal_argument_exception",
                            "reason": f"[from] parameter cannot be negative, found [{start}]"})  # fmt: skip
    query = body.get("query", {"match_all": {}})
    predicate = compile_query(query, first_index)
    sort = parse_sort(body.get("sort"))
    search_after = body.get("search_after")
    if search_after is not None and not isinstance(search_after, list):
        raise parsing("[search_after] failed to parse field [search_after]")
    if start + size > MAX_RESULT_WINDOW and documents:
        raise shard_failure(
            f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] "
            f"but was [{start + size}]. See the scroll api for a more efficient way to request large data sets. "
            "This limit can be set by changing the [index.max_result_window] index level setting.",
            first_index,
        )
    for sort_key in sort:
        if sort_key.field not in (*MAPPED_FIELDS, "_score", "_doc") and documents:
            raise shard_failure(
                f"No mapping found for [{sort_key.field}] in order to sort on", first_index, "query_shard_exception"
            )
    if search_after is not None and documents:
        if not sort:
            raise shard_failure("Sort must contain at least one field.", first_index)
        if len(search_after) != len(sort):
            raise shard_failure(f"search_after has {len(search_after)} value(s) but sort has {len(sort)}.", first_index)
        if start > 0:
            raise EsError(400, {"type": "action_request_validation_exception",
                                "reason": "Validation Failed: 1: [from] parameter must be set to 0 when "
                                "[search_after] is used;"})  # fmt: skip

    matched = [doc for doc in documents if predicate(doc.source)]
    scored = is_scoring(query)
    keyed = [(sort_values(doc, sort, scored), doc) for doc in matched]
    if sort:
        keyed.sort(key=lambda pair: _order_key(pair[0], sort))
        if search_after is not None:
            after = [_after_value(key, v, first_index) for key, v in zip(sort, search_after, strict=True)]
            limit = _order_key(after, sort)
            keyed = [pair for pair in keyed if _order_key(pair[0], sort) > limit]
    page = keyed[start : start + size]
    shown = source_filter(body.get("_source", True))
    hits = [_hit(doc, values_, shown, scored, bool(sort)) for values_, doc in page]
    result: dict[str, Any] = {}
    total = _total(body.get("track_total_hits", DEFAULT_TRACK_TOTAL_HITS), len(matched))
    if total is not None:
        result["total"] = total
    result["max_score"] = None if sort or not hits else (1.0 if scored else 0.0)
    result["hits"] = hits
    return result


def parse_sort(spec: Any) -> list[SortKey]:
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    keys: list[SortKey] = []
    for item in items:
        if isinstance(item, str):
            keys.append(_key(item, "desc" if item == "_score" else "asc", None))
        elif isinstance(item, dict) and len(item) == 1:
            field, options = next(iter(item.items()))
            if isinstance(options, str):
                keys.append(_key(field, options, None))
            elif isinstance(options, dict):
                for option in options:
                    if option not in ("order", "missing", "unmapped_type", "mode", "format", "numeric_type"):
                        raise parsing(f"[field_sort] unknown field [{option}]")
                keys.append(_key(field, options.get("order", "desc" if field == "_score" else "asc"),
                                 options.get("missing")))  # fmt: skip
            else:
                raise parsing(f"[{field}] failed to parse field [sort]")
        else:
            raise parsing("[sort] malformed sort, expected a field name or an object with one field")
    return keys


def _key(field: str, order: str, missing: Any) -> SortKey:
    if order not in ("asc", "desc"):
        raise EsError(400, {"type": "illegal_argument_exception", "reason": f"Unknown SortOrder [{order}]"})
    descending = order == "desc"
    missing_first = missing == "_first"
    return SortKey(field, descending, missing_first)


def sort_values(doc: Stored, sort: list[SortKey], scored: bool) -> list[Any]:
    """The `sort` array of a hit: dates and longs as epoch millis / integers, keywords as strings,
    missing values as Long.MAX_VALUE / MIN_VALUE (numbers) or null (keywords), as Elasticsearch shows them."""
    out: list[Any] = []
    for key in sort:
        if key.field == "_score":
            out.append(1.0 if scored else 0.0)
            continue
        if key.field == "_doc":
            out.append(0)
            continue
        found = [comparable(key.field, v, doc.index) for v in values(doc.source, key.field)]
        numeric = key.field in DATE_FIELDS or key.field in NUMERIC_FIELDS
        if found:
            chosen = max(found) if key.descending else min(found)
            out.append(int(chosen) if key.field in DATE_FIELDS else chosen)
        elif numeric:
            out.append(LONG_MIN if key.descending != key.missing_first else LONG_MAX)
        else:
            out.append(None)
    return out


class _Reverse:
    """Wraps a value to invert its order (for descending keys)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.value < self.value)

    def __gt__(self, other: _Reverse) -> bool:
        return bool(other.value > self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


def _order_key(row: list[Any], sort: list[SortKey]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for value, key in zip(row, sort, strict=True):
        missing = value is None
        # nulls (missing keywords) go last unless missing=_first
        parts.append(0 if missing == key.missing_first else 1)
        comparable_value = "" if missing else value
        parts.append(_Reverse(comparable_value) if key.descending else comparable_value)
    return tuple(parts)


def _after_value(key: SortKey, value: Any, index: str) -> Any:
    if key.field in DATE_FIELDS:
        return int(comparable(key.field, value, index)) if value is not None else None
    if key.field in NUMERIC_FIELDS or key.field in ("_score", "_doc"):
        return value
    return None if value is None else str(value)


def _total(track: Any, count: int) -> dict[str, Any] | None:
    if track is False:
        return None
    if track is True:
        return {"value": count, "relation": "eq"}
    limit = int(track)
    return {"value": count, "relation": "eq"} if count <= limit else {"value": limit, "relation": "gte"}


Shown = Callable[[dict[str, Any]], dict[str, Any] | None]  # a document's `_source` as a hit shows it


def _hit(doc: Stored, sort_row: list[Any], shown: Shown, scored: bool, sorted_: bool) -> dict[str, Any]:
    hit: dict[str, Any] = {"_index": doc.index, "_id": doc.id, "_score": None if sorted_ else (1.0 if scored else 0.0)}
    filtered = shown(doc.source)
    if filtered is not None:
        hit["_source"] = filtered
    if sorted_:
        hit["sort"] = sort_row
    return hit


def filter_source(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    """`_source`: true/false, a pattern or list of patterns (includes), or {includes, excludes}."""
    return source_filter(spec)(source)


def source_filter(spec: Any) -> Shown:
    """`filter_source` for one `_source` spec, parsed once for all the hits of a search."""
    if spec is True or spec is None:
        return lambda source: source
    if spec is False:
        return lambda source: None
    excludes: list[str] = []
    if isinstance(spec, str):
        includes = [spec]
    elif isinstance(spec, list):
        includes = [str(s) for s in spec]
    elif isinstance(spec, dict):
        includes = _patterns(spec.get("includes", spec.get("include", [])))
        excludes = _patterns(spec.get("excludes", spec.get("exclude", [])))
    else:
        raise parsing("[_source] failed to parse field [_source]")
    wanted, unwanted = _Patterns.of(includes), _Patterns.of(excludes)
    return lambda source: _filter(source, "", wanted, unwanted)


def _patterns(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


@dataclass(frozen=True)
class _Patterns:
    """`_source` patterns: exact names looked up in a set, wildcards matched one by one."""

    exact: frozenset[str]
    wildcards: tuple[str, ...]
    decided: dict[str, bool] = dataclass_field(default_factory=dict, compare=False)  # path -> included (paths repeat)

    @classmethod
    def of(cls, patterns: list[str]) -> _Patterns:
        wild = tuple(p for p in patterns if any(c in p for c in "*?["))
        return cls(frozenset(p for p in patterns if p not in wild), wild)

    @property
    def none(self) -> bool:
        return not (self.exact or self.wildcards)

    def match(self, path: str) -> bool:
        return path in self.exact or any(fnmatch.fnmatchcase(path, p) for p in self.wildcards)

    def include(self, path: str) -> bool:
        """A pattern names the path itself or an object above it ("kibana.alert" takes "kibana.alert.uuid")."""
        known = self.decided.get(path)
        if known is None:
            known = self.decided[path] = self._include(path)
        return known

    def _include(self, path: str) -> bool:
        if self.match(path):
            return True
        if self.exact:
            dot = path.find(".")
            while dot != -1:
                if path[:dot] in self.exact:
                    return True
                dot = path.find(".", dot + 1)
        return any(path.startswith(p + ".") for p in self.wildcards)


_NONE = _Patterns(frozenset(), ())


def _filter(node: dict[str, Any], prefix: str, includes: _Patterns, excludes: _Patterns) -> dict[str, Any]:
    out: dict[str, Any] = {}
    every, keep_all = includes.none, excludes.none
    for key, value in node.items():
        path = prefix + key if prefix else key
        if not keep_all and excludes.match(path):
            continue
        if isinstance(value, dict):
            if every or includes.include(path):
                out[key] = value if keep_all else _filter(value, path + ".", _NONE, excludes)
                continue
            inner = _filter(value, path + ".", includes, excludes)
            if inner:
                out[key] = inner
        elif every or includes.include(path):
            out[key] = value
    return out
