"""Client errors of the OGC API: a 4xx with a zh-CN message instead of tipg's bare 500.

tipg answers a bad request with a bare exception (a 500), so :func:`install_errors` makes
every client error under the OGC API a 4xx in the project's one body shape
(``{"detail": [{"loc", "msg", "type"}]}``, zh-CN ``msg``): tipg's parsers of ``bbox``,
``datetime``, ``filter``, ``sortby``, ``ids``, ``properties`` and the ``Accept`` header are
replaced by stricter ones (dependency overrides), :func:`check_request` checks the parameters
tipg reads itself, and handlers translate tipg's own errors, FastAPI's validation errors and
the database errors a bad filter provokes. Invalid parameters are 400 (OGC API Features,
``/req/core/query-param-invalid``); an unknown collection, item or path is 404.

This module holds the error type, the checks and the stricter parsers; the handlers and
:func:`install_errors` are in :mod:`gis_api.routes.ogc_handlers`. The collection lookup
dependency :func:`layer_collection` (by our layer name, not tipg's ``schema.table``) is here
too, since the parsers need it; the factory and the catalog are in :mod:`gis_api.routes.ogc`,
which re-exports the entry points.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from ciso8601 import parse_rfc3339
from cql2 import Expr
from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from tipg import dependencies as tipg_deps
from tipg.collections import Catalog, Collection, PgCollection
from tipg.resources.enums import MediaType

from layers.errors import GridmapError, Loc, NotFound

log = logging.getLogger("gridmap")


class ScopedCollection(PgCollection):
    """A collection whose items are limited to the communities a user works in."""

    within: list[int] | None = None

    def cql_where(self, *args: Any, **kwargs: Any) -> Expr | None:
        """Tipg's WHERE, and the reader's communities (``community_id``; ``id`` of communities)."""
        base: Expr | None = super().cql_where(*args, **kwargs)
        key = "id" if self.table == "communities" else "community_id"
        if self.within is None or self.get_column(key) is None:
            return base
        scope = {"op": "in", "args": [{"property": key}, list(self.within)]}
        if base is None:
            return Expr(scope)
        return Expr({"op": "and", "args": [base.to_json(), scope]})


def layer_collection(
    request: Request,
    collectionId: Annotated[str, Path(description="图层 id，如 buildings")],
) -> Collection:
    """Find a collection by layer name (``buildings``), not tipg's ``public.buildings``.

    For a reader limited to some communities (not an admin) the collection answers only
    their communities' features, whatever the filter, bbox or ids asked.
    """
    catalog: Catalog = request.app.state.collection_catalog
    if collectionId in catalog["collections"]:
        found = catalog["collections"][collectionId]
        principal = getattr(request.state, "principal", None)
        within = None if principal is None else principal.within
        if within is None or not isinstance(found, PgCollection):
            return found
        return ScopedCollection(**found.model_dump(by_alias=True), within=within)
    known = "、".join(sorted(catalog["collections"]))
    msg = f"没有名为“{collectionId}”的图层集合（可选：{known}）"
    raise NotFound(msg, loc=("path", "collectionId"))


# --- Client errors -------------------------------------------------------------------------


class OgcError(GridmapError):
    """A bad OGC API request: a parameter, header or path the server cannot use.

    Parameters
    ----------
    msg
        What was wrong, the value, and what is expected (zh-CN).
    loc
        Where, as in FastAPI's 422 body: ``("query", "bbox")``.
    code
        The stable English ``type`` code.
    status
        The HTTP status: 400 for a bad parameter, 404 for something that does not exist.
    """

    def __init__(self, msg: str, *, loc: Loc, code: str, status: int = 400) -> None:
        super().__init__(msg, loc=loc)
        self.type = code
        self.status = status


#: Query parameters tipg reads itself; every other one naming a property filters on it.
RESERVED_PARAMS = frozenset(
    {
        "f",
        "ids",
        "datetime",
        "bbox",
        "properties",
        "filter",
        "filter-lang",
        "geom-column",
        "datetime-column",
        "limit",
        "offset",
        "bbox-only",
        "simplify",
        "sortby",
        "crs",
        "bbox-crs",
    }
)

#: The spellings of WGS 84 longitude/latitude accepted as ``crs`` and ``bbox-crs``.
CRS84 = frozenset(
    {
        "http://www.opengis.net/def/crs/ogc/1.3/crs84",
        "https://www.opengis.net/def/crs/ogc/1.3/crs84",
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "ogc:crs84",
        "[ogc:crs84]",
        "crs84",
        "http://www.opengis.net/def/crs/epsg/0/4326",
        "https://www.opengis.net/def/crs/epsg/0/4326",
        "urn:ogc:def:crs:epsg::4326",
        "epsg:4326",
    }
)

#: Largest id of each integer key type; a bigger one cannot name a feature.
INT_KEY_MAX = {
    "smallint": 2**15 - 1,
    "smallserial": 2**15 - 1,
    "integer": 2**31 - 1,
    "serial": 2**31 - 1,
    "bigint": 2**63 - 1,
    "bigserial": 2**63 - 1,
}

#: PostgreSQL's largest OFFSET (a bigint).
MAX_OFFSET = 2**63 - 1

#: zh-CN names of the PostgreSQL types a filter's values are compared with.
PG_TYPES_ZH = {
    "character varying": "文本",
    "character": "文本",
    "text": "文本",
    "unknown": "文本",
    "smallint": "整数",
    "integer": "整数",
    "bigint": "整数",
    "numeric": "数字",
    "real": "数字",
    "double precision": "数字",
    "boolean": "布尔值（true/false）",
    "date": "日期",
    "timestamp with time zone": "时间",
    "timestamp without time zone": "时间",
    "geometry": "几何",
    "uuid": "UUID",
}

#: SQLSTATEs of class 42 that a user's filter can provoke (the rest of 42 are server faults).
FILTER_SQLSTATES_42 = frozenset(
    {"42601", "42703", "42704", "42725", "42803", "42804", "42809", "42846", "42883", "42P18"}
)

EXAMPLE_BBOX = "112.97,22.93,112.98,22.94"
EXAMPLE_TIME = "2024-01-01T00:00:00Z"
FILTER_HINT = "示例：code = 'B1' AND floors > 3（文本值加单引号，数值不加）"
OGC_PATHS = (
    "/、/conformance、/collections、/collections/{图层}、/collections/{图层}/queryables、"
    "/collections/{图层}/items、/collections/{图层}/items/{编号}"
)
_OGC_PATH = re.compile(r"^/(?:collections|conformance)(?:/|$)")


def _bad(msg: str, param: str, code: str) -> OgcError:
    return OgcError(msg, loc=("query", param), code=code)


def _cut(text: str, limit: int = 80) -> str:
    """Shorten a user's value for quoting in a message."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def _label(collection: Collection) -> str:
    return f"“{collection.title}（{collection.id}）”"


def _names(collection: Collection) -> str:
    """List the collection's attribute names (no geometry), for "choose one of" hints."""
    return "、".join(collection.columns())


def _collection_of(request: Request) -> Collection | None:
    """Return the collection named in the request's path, if any and if it exists."""
    name = request.path_params.get("collectionId")
    catalog: Catalog | None = getattr(request.app.state, "collection_catalog", None)
    if name is None or catalog is None:
        return None
    return catalog["collections"].get(name)


def _is_ogc_route(request: Request) -> bool:
    """Whether the request was routed to one of tipg's endpoints."""
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return str(getattr(endpoint, "__module__", "")).startswith("tipg.")


def _respond(request: Request, err: GridmapError) -> JSONResponse:
    log.info("%s %s: %s %s", request.method, request.url.path, err.type, err.msg)
    return JSONResponse({"detail": err.details()}, status_code=err.status)


# --- Parameters tipg reads itself: one dependency on every OGC route ------------------------


def check_request(request: Request) -> None:
    """Reject the bad values of the parameters tipg reads without a dependency of its own.

    ``itemId``, ``geom-column``, ``datetime-column``, ``offset``, ``simplify``, ``crs`` and
    ``bbox-crs``; malformed numbers are left to FastAPI's validation.

    Raises
    ------
    OgcError
        404 for an item id that cannot exist, 400 for a bad parameter.
    """
    params = request.query_params
    collection = _collection_of(request)
    if collection is not None:
        if (item := request.path_params.get("itemId")) is not None:
            _check_item_id(collection, item)
        _check_columns(collection, params.get("geom-column"), params.get("datetime-column"))
    _check_offset(params.get("offset"))
    _check_simplify(params.get("simplify"))
    for name in ("crs", "bbox-crs"):
        value = params.get(name)
        if value is not None and value.strip().lower() not in CRS84:
            msg = (
                f"{name} 不支持“{value}”：本服务只提供 WGS 84 经纬度（CRS84），"
                "请去掉该参数或写 http://www.opengis.net/def/crs/OGC/1.3/CRS84"
            )
            raise _bad(msg, name, "unsupported_crs")


def _int_key(collection: Collection, value: str) -> int | None:
    """Return ``value`` as the collection's integer key, or None when it cannot be one."""
    key = collection.id_column
    if key is None or key.type not in INT_KEY_MAX:
        return None
    text = value.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text) or abs(int(text)) > INT_KEY_MAX[key.type]:
        return None
    return int(text)


def _check_item_id(collection: Collection, item: str) -> None:
    key = collection.id_column
    if key is not None and key.type in INT_KEY_MAX and _int_key(collection, item) is None:
        msg = f"图层{_label(collection)}中没有编号为“{_cut(item)}”的要素（要素编号是整数）"
        raise OgcError(msg, loc=("path", "itemId"), code="not_found", status=404)


def _check_columns(collection: Collection, geom: str | None, when: str | None) -> None:
    if geom is not None and geom.lower() != "none" and not collection.get_geometry_column(geom):
        known = "、".join(c.name for c in collection.geometry_columns) or "无"
        msg = f"geom-column“{geom}”不是图层{_label(collection)}的几何字段；可选：{known}，或 none"
        raise _bad(msg, "geom-column", "unknown_property")
    if when is not None and not collection.get_datetime_column(when):
        known = "、".join(c.name for c in collection.datetime_columns) or "无（该图层没有时间字段）"
        msg = f"datetime-column“{when}”不是图层{_label(collection)}的时间字段；可选：{known}"
        raise _bad(msg, "datetime-column", "unknown_property")


def _check_offset(value: str | None) -> None:
    try:
        offset = int(value) if value is not None else 0
    except ValueError:
        return  # FastAPI's validation says so
    if offset > MAX_OFFSET:
        msg = f"offset“{value}”太大：最大为 {MAX_OFFSET}"
        raise _bad(msg, "offset", "less_than_equal")


def _check_simplify(value: str | None) -> None:
    try:
        tolerance = float(value) if value is not None else 0.0
    except ValueError:
        return
    if not math.isfinite(tolerance) or tolerance < 0:
        msg = f"simplify 应为不小于 0 的数（单位：度，如 0.00001），收到“{value}”"
        raise _bad(msg, "simplify", "invalid_simplify")


# --- Stricter versions of tipg's parsing dependencies ---------------------------------------


def bbox_query(
    bbox: Annotated[
        str | None, Query(description="空间范围：最小经度,最小纬度,最大经度,最大纬度")
    ] = None,
) -> list[float] | None:
    """Parse ``bbox``: 4 (or 6, with heights) finite numbers, WGS 84, minimum before maximum.

    Raises
    ------
    OgcError
        400 ``invalid_bbox``, saying which number is wrong and why.
    """
    if not bbox:
        return None
    expected = f"bbox 应为“最小经度,最小纬度,最大经度,最大纬度”，如 {EXAMPLE_BBOX}"
    values = []
    for i, part in enumerate(bbox.split(","), 1):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            msg = f"bbox 的第 {i} 个值“{part.strip()}”不是数字；{expected}"
            raise _bad(msg, "bbox", "invalid_bbox")
        values.append(value)
    if len(values) not in (4, 6):
        count = len(values)
        msg = f"bbox 应有 4 个数（或含高程的 6 个数），收到 {count} 个：“{_cut(bbox)}”；{expected}"
        raise _bad(msg, "bbox", "invalid_bbox")
    half = len(values) // 2
    lows, highs = values[:half], values[half:]
    lons, lats = (lows[0], highs[0]), (lows[1], highs[1])
    if any(abs(v) > 90 for v in lats):
        swapped = (
            "；看起来经纬度写反了，经度在前、纬度在后" if all(abs(v) <= 90 for v in lons) else ""
        )
        msg = f"bbox 的纬度 {lats[0]:g}、{lats[1]:g} 超出 -90 到 90 的范围{swapped}；{expected}"
        raise _bad(msg, "bbox", "invalid_bbox")
    if any(abs(v) > 180 for v in lons):
        msg = f"bbox 的经度 {lons[0]:g}、{lons[1]:g} 超出 -180 到 180 的范围；{expected}"
        raise _bad(msg, "bbox", "invalid_bbox")
    for axis, low, high in zip(("经度", "纬度", "高程"), lows, highs, strict=False):
        if low > high:
            msg = f"bbox 的最小{axis} {low:g} 大于最大{axis} {high:g}；{expected}"
            raise _bad(msg, "bbox", "invalid_bbox")
    return values


def datetime_query(
    value: Annotated[
        str | None, Query(alias="datetime", description="时间或区间（开始/结束，开放端用 ..）")
    ] = None,
) -> list[str] | None:
    """Parse ``datetime``: one RFC 3339 time, or an interval ``start/end`` with ``..`` ends.

    Raises
    ------
    OgcError
        400 ``invalid_datetime``.
    """
    if not value:
        return None
    expected = (
        f"应写成 RFC 3339 时间（如 {EXAMPLE_TIME} 或 2024-01-01T08:00:00+08:00），"
        f"区间写成“开始/结束”，开放的一端写 ..（如 ../{EXAMPLE_TIME}）"
    )
    parts = value.split("/")
    if len(parts) > 2:
        msg = f"datetime“{value}”有 {len(parts)} 段，最多是一个区间“开始/结束”；{expected}"
        raise _bad(msg, "datetime", "invalid_datetime")
    times: list[dt.datetime | None] = []
    for part in parts:
        if len(parts) == 2 and part in ("", ".."):
            times.append(None)
            continue
        try:
            times.append(parse_rfc3339(part))
        except ValueError:
            msg = f"datetime 中的“{part}”不是有效的时间；{expected}"
            raise _bad(msg, "datetime", "invalid_datetime") from None
    if len(times) == 2:
        start, end = times
        if start is None and end is None:
            msg = f"datetime 区间的两端不能都是开放的（“{value}”）；{expected}"
            raise _bad(msg, "datetime", "invalid_datetime")
        if start is not None and end is not None and start > end:
            msg = f"datetime 的开始时间 {parts[0]} 晚于结束时间 {parts[1]}"
            raise _bad(msg, "datetime", "invalid_datetime")
    return parts


def _filter_parse_error(query: str, exc: Exception) -> OgcError:
    if query.lstrip().startswith(("{", "[")):
        try:
            json.loads(query)
        except json.JSONDecodeError as bad:
            where = f"第 {bad.lineno} 行第 {bad.colno} 列"
            msg = f"filter 不是有效的 JSON（{where}附近有误）：{_cut(query)}"
            return _bad(msg, "filter", "invalid_filter")
        msg = (
            "filter 不是有效的 CQL2 JSON 表达式，应如 "
            '{"op": "=", "args": [{"property": "code"}, "B1"]}'
            f"：{_cut(query)}"
        )
        return _bad(msg, "filter", "invalid_filter")
    where = ""
    if position := re.search(r"-->\s*(\d+):(\d+)", str(exc)):
        line, col = int(position.group(1)), int(position.group(2))
        lines = query.splitlines() or [""]
        rest = lines[line - 1][col - 1 :] if line <= len(lines) else ""
        near = f"“{_cut(rest, 30)}”处" if rest else "末尾"
        where = f"在第 {line} 行第 {col} 个字符（{near}）"
    msg = f"filter 不是有效的 CQL2 文本，{where}无法解析：{_cut(query)}；{FILTER_HINT}"
    return _bad(msg, "filter", "invalid_filter")


def _properties_in(node: Any, op: str = "") -> Iterator[tuple[str, str]]:
    """Yield every ``(property name, operator using it)`` of a cql2-json tree."""
    if isinstance(node, dict):
        if isinstance(node.get("property"), str):
            yield node["property"], op
        inner = str(node.get("op", op))
        for value in node.values():
            yield from _properties_in(value, inner)
    elif isinstance(node, list):
        for item in node:
            yield from _properties_in(item, op)


def _check_filter_properties(collection: Collection, tree: Any) -> None:
    for name, op in _properties_in(tree):
        column = collection.get_column(name)
        if column is None:
            msg = (
                f"filter 中的属性“{name}”不存在于图层{_label(collection)}；"
                f"可用：{_names(collection)}"
            )
            raise _bad(msg, "filter", "unknown_property")
        if op.lower().startswith("s_") and column.type not in ("geometry", "geography"):
            geoms = "、".join(c.name for c in collection.geometry_columns) or "无"
            msg = f"空间条件 {op.upper()} 的属性“{name}”不是几何字段；应为 {geoms}"
            raise _bad(msg, "filter", "invalid_filter")


def filter_query(
    collection: Annotated[Collection, Depends(layer_collection)],
    query: Annotated[str | None, Query(alias="filter", description="CQL2 条件")] = None,
    filter_lang: Annotated[
        tipg_deps.FilterLang | None,
        Query(alias="filter-lang", description="cql2-text 或 cql2-json"),
    ] = None,
) -> Expr | None:
    """Parse ``filter`` (CQL2 text or JSON) and check that it names only known properties.

    As tipg does, the language is read from the text itself and the expression is re-parsed
    from its JSON form (so geometry literals are WGS 84). An empty filter is no filter.

    Raises
    ------
    OgcError
        400 ``invalid_filter`` (with the position of a parse error) or ``unknown_property``.
    """
    del filter_lang  # declared so that a bad value is refused; the text says its language
    if query is None or not query.strip():
        return None
    try:
        tree = Expr(query).to_json()
        expr = Expr(tree)
    except Exception as exc:  # cql2 raises plain Exception on any bad input
        raise _filter_parse_error(query, exc) from None
    _check_filter_properties(collection, tree)
    return expr


def sortby_query(
    collection: Annotated[Collection, Depends(layer_collection)],
    sortby: Annotated[str | None, Query(description="排序字段，如 -floors,code")] = None,
) -> str | None:
    """Check ``sortby`` (``name``, ``+name`` or ``-name``, comma-separated); return it tidied.

    Raises
    ------
    OgcError
        400 ``invalid_sortby`` for an empty key, ``unknown_property`` for an unknown one.
    """
    if not sortby or not sortby.strip():
        return None
    keys = []
    for raw in sortby.split(","):
        part = raw.strip()
        descending = part.startswith("-")
        name = part[1:].strip() if part.startswith(("+", "-")) else part
        if not name:
            msg = f"sortby“{sortby}”中有空的排序字段；应写成 floors 或 -floors，多个用逗号分隔"
            raise _bad(msg, "sortby", "invalid_sortby")
        if collection.get_column(name) is None:
            msg = (
                f"sortby 中的属性“{name}”不存在于图层{_label(collection)}；"
                f"可用：{_names(collection)}"
            )
            raise _bad(msg, "sortby", "unknown_property")
        keys.append(f"-{name}" if descending else name)
    return ",".join(keys)


def ids_query(
    collection: Annotated[Collection, Depends(layer_collection)],
    ids: Annotated[str | None, Query(description="要素编号，逗号分隔")] = None,
) -> list[str] | None:
    """Check ``ids``: comma-separated, none empty, integers when the key is an integer.

    Raises
    ------
    OgcError
        400 ``invalid_ids``.
    """
    if not ids:
        return None
    parts = ids.split(",")
    key = collection.id_column
    if key is None:
        msg = f"图层{_label(collection)}没有主键，不能按 ids 过滤"
        raise _bad(msg, "ids", "invalid_ids")
    if any(not p.strip() for p in parts):
        msg = f"ids“{_cut(ids)}”中有空的编号；应写成逗号分隔的编号，如 1,2,3"
        raise _bad(msg, "ids", "invalid_ids")
    if key.type not in INT_KEY_MAX:
        return parts
    for part in parts:
        if _int_key(collection, part) is None:
            top = INT_KEY_MAX[key.type]
            msg = f"ids 中的“{_cut(part)}”不是有效的要素编号：应为不超过 {top} 的整数"
            raise _bad(msg, "ids", "invalid_ids")
    return [p.strip() for p in parts]


def properties_query(
    collection: Annotated[Collection, Depends(layer_collection)],
    properties: Annotated[str | None, Query(description="只返回这些属性，逗号分隔")] = None,
) -> list[str] | None:
    """Check that ``properties`` names only attributes of the collection.

    Raises
    ------
    OgcError
        400 ``unknown_property``.
    """
    if properties is None:
        return None
    names = [p.strip() for p in properties.split(",")]
    if unknown := [n for n in names if n and collection.get_column(n) is None]:
        listed = "、".join(f"“{n}”" for n in unknown)
        msg = (
            f"properties 中的属性{listed}不存在于图层{_label(collection)}；"
            f"可用：{_names(collection)}"
        )
        raise _bad(msg, "properties", "unknown_property")
    return names


def _media(
    choose: Callable[[Request, Any], MediaType | None], request: Request, f: str | None
) -> MediaType | None:
    """Call tipg's media type dependency ``choose``; a malformed ``Accept`` header is a 400."""
    try:
        return choose(request, f)
    except ValueError:
        accept = request.headers.get("accept", "")
        msg = f"请求头 Accept 的写法有误：“{accept}”；应如 application/json 或 text/html;q=0.9"
        raise OgcError(msg, loc=("header", "accept"), code="invalid_accept") from None


def output_type(
    request: Request,
    f: Annotated[tipg_deps.ResponseType | None, Query(description="返回格式")] = None,
) -> MediaType | None:
    """Choose json or html as tipg's ``OutputType`` does; a malformed ``Accept`` is a 400."""
    return _media(tipg_deps.OutputType, request, f)


def items_output_type(
    request: Request,
    f: Annotated[tipg_deps.ItemsResponseType | None, Query(description="返回格式")] = None,
) -> MediaType | None:
    """Choose as tipg's ``ItemsOutputType`` does, with a malformed ``Accept`` header a 400."""
    return _media(tipg_deps.ItemsOutputType, request, f)


def queryables_output_type(
    request: Request,
    f: Annotated[tipg_deps.QueryablesResponseType | None, Query(description="返回格式")] = None,
) -> MediaType | None:
    """Choose as tipg's ``QueryablesOutputType`` does, with a malformed ``Accept`` header a 400."""
    return _media(tipg_deps.QueryablesOutputType, request, f)
