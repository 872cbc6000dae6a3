"""The query DSL subset the bot uses, parsed as strictly as Elasticsearch parses it.

`compile_query(body)` turns a query object into a predicate over documents, or raises the
`parsing_exception` Elasticsearch would (messages from the query builders' `fromXContent` in
org.elasticsearch.index.query: AbstractQueryBuilder#parseInnerQueryBuilder for "unknown query [x]"
and "[x] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"; BoolQueryBuilder,
TermQueryBuilder, TermsQueryBuilder, RangeQueryBuilder and ExistsQueryBuilder for "[type] query does
not support [key]" and "[type] query doesn't support multiple fields, found [a] and [b]").
Real Elasticsearch may append " did you mean [y]?" to "unknown query [x]" (SuggestingErrorOnUnknown);
so does this parser, from the list of real query names below.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import EsError, parsing, shard_failure

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]

# The alerts-as-data mapping for the fields the fake knows (kbn-alerts-as-data-utils field maps):
# dates, numbers; every other known field is a keyword.
DATE_FIELDS = frozenset({"@timestamp", "kibana.alert.start", "kibana.alert.end", "event.ingested"})
NUMERIC_FIELDS = frozenset({"kibana.alert.duration.us", "kibana.alert.flapping_history"})
KEYWORD_FIELDS = frozenset(
    {
        "kibana.alert.uuid",
        "kibana.alert.instance.id",
        "kibana.alert.rule.uuid",
        "kibana.alert.rule.name",
        "kibana.alert.rule.tags",
        "kibana.alert.rule.rule_type_id",
        "kibana.alert.rule.consumer",
        "kibana.alert.rule.category",
        "kibana.alert.rule.producer",
        "kibana.alert.rule.revision",
        "kibana.alert.rule.execution.uuid",
        "kibana.alert.status",
        "kibana.alert.reason",
        "kibana.alert.workflow_status",
        "kibana.alert.action_group",
        "kibana.alert.flapping",
        "kibana.alert.maintenance_window_ids",
        "kibana.space_ids",
        "kibana.version",
        "event.action",
        "event.kind",
        "tags",
    }
)
MAPPED_FIELDS = DATE_FIELDS | NUMERIC_FIELDS | KEYWORD_FIELDS
DATE_FORMAT = "strict_date_optional_time||epoch_millis"
LONG_MAX = 9223372036854775807
LONG_MIN = -9223372036854775808

# Query names registered in Elasticsearch 8.x (SearchModule#registerQueryParsers), for suggestions only.
KNOWN_QUERIES = (
    "bool", "boosting", "combined_fields", "constant_score", "dis_max", "distance_feature", "exists",
    "function_score", "fuzzy", "geo_bounding_box", "geo_distance", "geo_shape", "has_child", "has_parent",
    "ids", "intervals", "match", "match_all", "match_bool_prefix", "match_none", "match_phrase",
    "match_phrase_prefix", "more_like_this", "multi_match", "nested", "parent_id", "percolate", "pinned",
    "prefix", "query_string", "range", "regexp", "script", "script_score", "simple_query_string",
    "span_first", "span_near", "span_not", "span_or", "span_term", "term", "terms", "terms_set", "wildcard",
    "wrapper",
)  # fmt: skip
SUPPORTED = ("bool", "term", "terms", "range", "exists", "match_all")


# ---------------------------------------------------------------------------- field access
def values(doc: Doc, field: str) -> list[Any]:
    """Every value of `field` in `doc`, whether stored under the dotted key (as Kibana writes alerts),
    in nested objects, or a mix of both; arrays are flattened as Elasticsearch indexes them."""
    found: list[Any] = []
    _collect(doc, _parts(field), found)
    return found


@functools.cache
def _parts(field: str) -> tuple[str, ...]:
    return tuple(field.split("."))


@functools.cache
def _keys(parts: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each key a node may hold the path under ("kibana", "kibana.alert", …), with the parts left below it."""
    return tuple((".".join(parts[:i]), parts[i:]) for i in range(1, len(parts) + 1))


def _collect(node: Any, parts: tuple[str, ...], out: list[Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, parts, out)
        return
    if not isinstance(node, dict):
        return
    for key, rest in _keys(parts):
        if key not in node:
            continue
        value = node[key]
        if rest:
            _collect(value, rest, out)
        else:
            _flatten(value, out)


def _flatten(value: Any, out: list[Any]) -> None:
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    elif value is not None:
        out.append(value)


# ---------------------------------------------------------------------------- dates
_NOW_MATH = re.compile(r"^now(?P<math>([+-]\d+[yMwdhHms])*)(/(?P<round>[yMwdhHms]))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "H": 3600, "d": 86400, "w": 604800}


def to_millis(value: Any, field: str, index: str = "") -> int:
    """A date as epoch millis: numbers and digit strings are epoch_millis, strings ISO 8601
    (strict_date_optional_time), and `now` with simple date math (`now-15m`)."""
    if isinstance(value, bool):
        raise _bad_date(value, field, index)
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text) and len(text) != 4:  # "2024" alone is a year in strict_date_optional_time
            return int(text)
        math = _NOW_MATH.match(text)
        if math:
            moment = datetime.now(UTC)
            for sign, amount, unit in re.findall(r"([+-])(\d+)([yMwdhHms])", math.group("math") or ""):
                seconds = _UNITS.get(unit, 30 * 86400 if unit == "M" else 365 * 86400) * int(amount)
                moment += timedelta(seconds=seconds if sign == "+" else -seconds)
            return int(moment.timestamp() * 1000)
        millis = _iso_millis(text)
        if millis is None:
            raise _bad_date(value, field, index)
        return millis
    raise _bad_date(value, field, index)


@functools.lru_cache(maxsize=1 << 16)
def _iso_millis(text: str) -> int | None:
    """An ISO 8601 date as epoch millis, None when it is none (the stamps of one rule run repeat: cached)."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _bad_date(value: Any, field: str, index: str) -> EsError:
    # DateFieldMapper / JavaDateFormatter: a shard-level parse_exception, wrapped by the search phase.
    return shard_failure(
        f"failed to parse date field [{value}] with format [{DATE_FORMAT}]: "
        f"[failed to parse date field [{value}] with format [{DATE_FORMAT}]]",
        index,
        "parse_exception",
    )


def comparable(field: str, value: Any, index: str = "") -> Any:
    """A query value (or a stored value) converted the way the field's mapping compares it."""
    if field in DATE_FIELDS:
        return to_millis(value, field, index)
    if field in NUMERIC_FIELDS:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise shard_failure(f'For input string: "{value}"', index, "number_format_exception") from None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, str) else value


# ---------------------------------------------------------------------------- compile
def compile_query(query: Any, index: str = "") -> Predicate:
    """A predicate for one query object (`{"bool": {...}}`), or the parsing_exception ES would give."""
    if not isinstance(query, dict):
        raise parsing("[_na] query malformed, no start_object after query name")
    if not query:
        raise parsing("query malformed, empty clause found")
    name = next(iter(query))
    if len(query) > 1:
        raise parsing(f"[{name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    body = query[name]
    if name not in SUPPORTED:
        close = difflib.get_close_matches(name, KNOWN_QUERIES, n=1, cutoff=0.75)
        hint = f" did you mean [{close[0]}]?" if close and close[0] != name else ""
        raise parsing(f"unknown query [{name}]{hint}")
    if not isinstance(body, dict):
        raise parsing(f"[{name}] query malformed, no start_object after query name")
    return _COMPILERS[name](body, index)


def _match_all(body: dict[str, Any], index: str) -> Predicate:
    for key in body:
        if key not in ("boost", "_name"):
            raise parsing(f"[match_all] query does not support [{key}]")
    return lambda doc: True


def _clauses(kind: str, value: Any, index: str) -> list[Predicate]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise parsing(f"[bool] query does not support [{kind}]")
        out.append(compile_query(item, index))
    return out


def _bool(body: dict[str, Any], index: str) -> Predicate:
    groups: dict[str, list[Predicate]] = {"must": [], "filter": [], "should": [], "must_not": []}
    minimum: Any = None
    for key, value in body.items():
        if key in groups:
            groups[key].extend(_clauses(key, value, index))
        elif key == "minimum_should_match":
            minimum = value
        elif key in ("boost", "_name", "adjust_pure_negative"):
            continue
        else:
            raise parsing(f"[bool] query does not support [{key}]")
    should = groups["should"]
    required = _minimum_should_match(minimum, len(should), default=0 if groups["must"] or groups["filter"] else 1)
    needed = (*groups["must"], *groups["filter"])
    excluded = tuple(groups["must_not"])
    counted = tuple(should) if should and required > 0 else ()

    def matches(doc: Doc) -> bool:
        for p in needed:
            if not p(doc):
                return False
        for p in excluded:
            if p(doc):
                return False
        if counted:
            hits = 0
            for p in counted:
                if p(doc):
                    hits += 1
                    if hits >= required:
                        return True
            return False
        return True

    return matches


def _minimum_should_match(value: Any, clauses: int, *, default: int) -> int:
    """Queries.calculateMinShouldMatch: an integer, a negative integer, or a percentage."""
    if value is None:
        return default if clauses else 0
    text = str(value).strip()
    try:
        if text.endswith("%"):
            percent = int(text[:-1])
            result = int(clauses * percent / 100) if percent >= 0 else clauses - int(clauses * -percent / 100)
        else:
            number = int(text)
            result = number if number >= 0 else clauses + number
    except ValueError:
        raise parsing(f"[bool] failed to parse minimum_should_match [{value}]") from None
    return max(0, min(result, clauses)) if result <= clauses else result


def _single_field(kind: str, body: dict[str, Any]) -> tuple[str, Any]:
    fields = [k for k in body if k not in ("boost", "_name")]
    if not fields:
        raise parsing(f"[{kind}] query malformed, no field")
    if len(fields) > 1:
        raise parsing(f"[{kind}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    return fields[0], body[fields[0]]


def _term(body: dict[str, Any], index: str) -> Predicate:
    field, spec = _single_field("term", body)
    insensitive = False
    if isinstance(spec, dict):
        value = None
        for key, item in spec.items():
            if key == "value":
                value = item
            elif key == "case_insensitive":
                insensitive = bool(item)
            elif key not in ("boost", "_name"):
                raise parsing(f"[term] query does not support [{key}]")
        if value is None:
            raise parsing("value cannot be null")
    elif isinstance(spec, list):
        raise parsing("[term] query does not support array of values")
    else:
        value = spec
    if value is None:
        raise parsing("value cannot be null")
    wanted = comparable(field, value, index)
    if insensitive and isinstance(wanted, str):
        lowered = wanted.lower()
        return lambda doc: any(str(v).lower() == lowered for v in values(doc, field))
    if field not in DATE_FIELDS and field not in NUMERIC_FIELDS:  # a keyword: strings compare as they are
        return lambda doc: any(
            (v == wanted) if isinstance(v, str) else _eq(field, v, wanted, index) for v in values(doc, field)
        )
    return lambda doc: any(_eq(field, v, wanted, index) for v in values(doc, field))


def _eq(field: str, stored: Any, wanted: Any, index: str) -> bool:
    try:
        return bool(comparable(field, stored, index) == wanted)
    except EsError:
        return False


def _terms(body: dict[str, Any], index: str) -> Predicate:
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) > 1:
        raise parsing("[terms] query does not support multiple fields")
    if not fields:
        raise parsing("[terms] query requires a field")  # TermsQueryBuilder: "[terms] query requires a field"
    field = fields[0]
    spec = body[field]
    if not isinstance(spec, list):
        raise parsing(f"[terms] query does not support [{field}]")
    for item in spec:
        if item is None:
            raise parsing("No value specified for terms query")
        if isinstance(item, dict | list):
            raise parsing(f"[terms] query does not support [{field}]")
    wanted = {comparable(field, item, index) for item in spec}
    if field not in DATE_FIELDS and field not in NUMERIC_FIELDS:  # a keyword: strings compare as they are
        return lambda doc: any(
            (v in wanted) if isinstance(v, str) else _in(field, v, wanted, index) for v in values(doc, field)
        )
    return lambda doc: any(_in(field, v, wanted, index) for v in values(doc, field))


def _in(field: str, stored: Any, wanted: set[Any], index: str) -> bool:
    try:
        return comparable(field, stored, index) in wanted
    except EsError:
        return False


RANGE_KEYS = ("gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "format", "time_zone")


def _range(body: dict[str, Any], index: str) -> Predicate:
    field, spec = _single_field("range", body)
    if not isinstance(spec, dict):
        raise parsing(f"[range] query does not support [{field}]")
    bounds: list[tuple[str, Any]] = []
    for key, value in spec.items():
        if key in ("gt", "gte", "lt", "lte"):
            if value is not None:
                bounds.append((key, comparable(field, value, index)))
        elif key in RANGE_KEYS or key in ("boost", "_name", "relation"):
            continue
        else:
            raise parsing(f"[range] query does not support [{key}]")

    def inside(stored: Any) -> bool:
        try:
            value = comparable(field, stored, index)
        except EsError:
            return False
        for op, bound in bounds:
            if (
                (op == "gt" and not value > bound)
                or (op == "gte" and not value >= bound)
                or (op == "lt" and not value < bound)
                or (op == "lte" and not value <= bound)
            ):
                return False
        return True

    return lambda doc: any(inside(v) for v in values(doc, field))


def _exists(body: dict[str, Any], index: str) -> Predicate:
    field = None
    for key, value in body.items():
        if key == "field":
            field = value
        elif key not in ("boost", "_name"):
            raise parsing(f"[exists] query does not support [{key}]")
    if not isinstance(field, str) or not field:
        raise parsing("[exists] must be provided with a [field]")
    return lambda doc: bool(values(doc, field))


_COMPILERS: dict[str, Callable[[dict[str, Any], str], Predicate]] = {
    "match_all": _match_all,
    "bool": _bool,
    "term": _term,
    "terms": _terms,
    "range": _range,
    "exists": _exists,
}


def required_term(query: Any, field: str) -> str | None:
    """The one keyword value `query` requires of `field` (a `term` on it in the `filter` or `must` of its
    top `bool`), or None: no document without that value can match. Never raises (the query is parsed,
    and refused if malformed, by `compile_query`)."""
    body = query.get("bool") if isinstance(query, dict) and len(query) == 1 else None
    if not isinstance(body, dict):
        return None
    for kind in ("filter", "must"):
        clauses = body.get(kind)
        for clause in clauses if isinstance(clauses, list) else [clauses]:
            term = clause.get("term") if isinstance(clause, dict) and len(clause) == 1 else None
            if not isinstance(term, dict) or set(term) != {field}:
                continue
            value = term[field]
            if isinstance(value, dict):
                if set(value) - {"value", "boost", "_name"}:
                    continue  # case_insensitive, or something the parser refuses
                value = value.get("value")
            if isinstance(value, str):
                return value
    return None


def is_scoring(query: Any) -> bool:
    """Whether hits get a score of 1.0 (query context) or 0.0 (filter context only)."""
    if not isinstance(query, dict) or not query:
        return True
    name, body = next(iter(query.items()))
    if name == "bool" and isinstance(body, dict):
        return bool(body.get("must") or body.get("should"))
    return True
