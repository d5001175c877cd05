"""Handlers of the OGC API's client errors, and :func:`install_errors`, which sets them up.

:func:`install_errors` replaces tipg's parsing dependencies by the stricter ones of
:mod:`gis_api.routes.ogc_errors` and registers handlers that translate tipg's own errors,
FastAPI's validation errors and HTTP errors of the OGC routes, and the database errors a bad
filter provokes, into 4xx answers with zh-CN messages; any other error stays a 500.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from asyncpg.exceptions import PostgresError  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from tipg import dependencies as tipg_deps
from tipg import errors as tipg_errors

from gis_api.routes.ogc_errors import (
    _OGC_PATH,
    EXAMPLE_BBOX,
    EXAMPLE_TIME,
    FILTER_HINT,
    FILTER_SQLSTATES_42,
    OGC_PATHS,
    PG_TYPES_ZH,
    RESERVED_PARAMS,
    OgcError,
    _bad,
    _collection_of,
    _cut,
    _is_ogc_route,
    _label,
    _names,
    _respond,
    bbox_query,
    datetime_query,
    filter_query,
    ids_query,
    items_output_type,
    log,
    output_type,
    properties_query,
    queryables_output_type,
    sortby_query,
)

# --- Handlers: tipg's errors, validation, unknown paths, database errors of a bad filter ----


def _tipg_error(request: Request, exc: Exception) -> OgcError:  # noqa: PLR0911
    """Translate one of tipg's exceptions (those a client can cause) to a zh-CN error."""
    collection = _collection_of(request)
    label = _label(collection) if collection is not None else ""
    if isinstance(exc, tipg_errors.NotFound):
        item = request.path_params.get("itemId", "")
        msg = f"图层{label}中没有编号为“{_cut(item)}”的要素"
        return OgcError(msg, loc=("path", "itemId"), code="not_found", status=404)
    if isinstance(exc, tipg_errors.InvalidBBox):
        msg = f"bbox“{request.query_params.get('bbox')}”无效；应如 {EXAMPLE_BBOX}"
        return _bad(msg, "bbox", "invalid_bbox")
    if isinstance(exc, tipg_errors.InvalidPropertyName):
        known = _names(collection) if collection is not None else ""
        msg = f"sortby“{request.query_params.get('sortby')}”中有不存在的属性；可用：{known}"
        return _bad(msg, "sortby", "unknown_property")
    if isinstance(exc, tipg_errors.InvalidGeometryColumnName):
        msg = f"geom-column“{request.query_params.get('geom-column')}”不是图层{label}的几何字段"
        return _bad(msg, "geom-column", "unknown_property")
    if isinstance(exc, tipg_errors.InvalidDatetimeColumnName):
        when = request.query_params.get("datetime-column")
        msg = f"datetime-column“{when}”不是图层{label}的时间字段"
        return _bad(msg, "datetime-column", "unknown_property")
    if isinstance(exc, tipg_errors.MissingDatetimeColumn):
        msg = f"图层{label}没有时间字段，不能按 datetime 过滤"
        return _bad(msg, "datetime", "invalid_datetime")
    if isinstance(exc, tipg_errors.InvalidDatetime):
        msg = f"datetime“{request.query_params.get('datetime')}”无效；应如 {EXAMPLE_TIME}"
        return _bad(msg, "datetime", "invalid_datetime")
    if isinstance(exc, tipg_errors.InvalidLimit):
        return _bad("limit 超过了单次请求允许的要素数上限", "limit", "less_than_equal")
    msg = "图层函数缺少必填参数"
    return OgcError(msg, loc=("query",), code="missing")


#: tipg's exceptions that a client causes; the others (no geometry column, no catalog) are ours.
TIPG_CLIENT_ERRORS: tuple[type[Exception], ...] = (
    tipg_errors.NotFound,
    tipg_errors.InvalidBBox,
    tipg_errors.InvalidPropertyName,
    tipg_errors.InvalidGeometryColumnName,
    tipg_errors.InvalidDatetimeColumnName,
    tipg_errors.MissingDatetimeColumn,
    tipg_errors.InvalidDatetime,
    tipg_errors.InvalidLimit,
    tipg_errors.MissingFunctionParameter,
)


def _zh_type(pg_type: str) -> str:
    return PG_TYPES_ZH.get(pg_type.strip(), pg_type.strip())


def _database_reason(exc: Any) -> str:  # noqa: PLR0911
    """Say in zh-CN why PostgreSQL refused a filter, from its SQLSTATE and message."""
    state = str(getattr(exc, "sqlstate", "") or "")
    text = str(getattr(exc, "message", "") or exc)
    quoted = re.search(r'"(.*)"', text)
    value = f"“{quoted.group(1)}”" if quoted else ""
    if state == "22P02":
        if m := re.search(r'for type ([\w ]+): "(.*)"', text):
            return f"值“{m.group(2)}”不是有效的{_zh_type(m.group(1))}"
        return "有值与属性的类型不符"
    if state in ("22007", "22008"):
        return f"时间值{value}无效；应如 {EXAMPLE_TIME}"
    if state == "22003":
        return "数值超出了属性类型能表示的范围"
    if state == "42883":
        first = text.splitlines()[0] if text else ""
        if m := re.search(r"operator does not exist: (.+?) ([^\s\w]+) (.+)$", first):
            left, op, right = _zh_type(m.group(1)), m.group(2), _zh_type(m.group(3))
            return f"不能用“{op}”比较{left}和{right}；{FILTER_HINT}"
        if m := re.search(r"function ([\w.]+)\(", text):
            return f"不支持函数 {m.group(1).split('.')[-1]}，或它的参数类型不对"
        return f"不支持的运算，或属性与值的类型不匹配；{FILTER_HINT}"
    if state == "42704":
        return "有数据库无法识别的值或类型（例如超出范围的数字 1e400）"
    if state == "42703":
        return f"属性{value}不存在"
    if state == "XX000":
        return (
            "几何值或空间运算无效；空间条件的属性应为几何字段，"
            "几何用 WKT 书写，如 POINT(112.97 22.93)"
        )
    if state == "54001":
        return "条件过于复杂"
    return f"有值的写法或类型与属性不符；{FILTER_HINT}"


def _database_client_error(request: Request, exc: Any) -> OgcError | None:
    """Return the 400 for a database error a user's filter provoked, None for a server fault.

    Only errors of tipg's routes with a user-written condition (``filter``, a property
    filter such as ``?floors=abc``, ``datetime``) and only data (22xxx) or expression
    (some 42xxx) errors count; PostGIS's internal errors (XX000) only with a ``filter``.
    """
    if not _is_ogc_route(request):
        return None
    state = str(getattr(exc, "sqlstate", "") or "")
    params = request.query_params
    collection = _collection_of(request)
    columns = {c.name for c in collection.properties} if collection is not None else set()
    filters = [k for k in params if k.lower() not in RESERVED_PARAMS and k.lower() in columns]
    if params.get("filter", "").strip():
        param, what = "filter", "查询条件 filter"
    elif filters:
        param, what = filters[0], f"属性过滤 {filters[0]}={params[filters[0]]}"
    elif params.get("datetime"):
        param, what = "datetime", "时间过滤 datetime"
    else:
        return None
    client = state.startswith("22") or state in FILTER_SQLSTATES_42 or state == "54001"
    if not client and not (state == "XX000" and param == "filter"):
        return None
    return _bad(f"{what} 无法执行：{_database_reason(exc)}", param, "invalid_filter")


def _validation_msg(error: dict[str, Any]) -> str:  # noqa: PLR0911
    """Write a zh-CN message for one of FastAPI's (pydantic's) validation errors."""
    loc = error.get("loc") or ()
    where = {"header": "请求头", "path": "路径参数"}.get(str(loc[0]) if loc else "", "参数")
    name = f"{where} {loc[-1]}" if loc else where
    got = f"，收到“{error.get('input')}”"
    ctx = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    if kind == "missing":
        return f"缺少{name}"
    if kind == "literal_error":
        options = "、".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return f"{name} 的值“{error.get('input')}”不支持；可选：{options}"
    bounds = {
        "greater_than_equal": ("不能小于", "ge"),
        "greater_than": ("应大于", "gt"),
        "less_than_equal": ("不能大于", "le"),
        "less_than": ("应小于", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{name} {words} {ctx.get(key)}{got}"
    if kind.startswith("int_"):
        return f"{name} 应为整数{got}"
    if kind.startswith("float_"):
        return f"{name} 应为数字{got}"
    if kind.startswith("bool_"):
        return f"{name} 应为 true 或 false{got}"
    return f"{name} 的值无效{got}"


async def _delegate(handler: Callable[..., Any], request: Request, exc: Exception) -> Response:
    response = handler(request, exc)
    if inspect.isawaitable(response):
        response = await response
    assert isinstance(response, Response)
    return response


def install_errors(app: FastAPI) -> None:
    """Make every client error under the OGC API a 4xx with a zh-CN message.

    Replaces tipg's parsing dependencies by the stricter ones of this module and registers
    handlers for tipg's client errors, for FastAPI's validation errors and HTTP errors of the
    OGC routes (the others still go to the handlers registered before), and for the
    database errors a bad filter provokes there. Any other error stays a 500.

    Parameters
    ----------
    app
        The application, after :func:`gis_api.errors.install` and before any request.
    """
    app.dependency_overrides.update(
        {
            tipg_deps.bbox_query: bbox_query,
            tipg_deps.datetime_query: datetime_query,
            tipg_deps.filter_query: filter_query,
            tipg_deps.sortby_query: sortby_query,
            tipg_deps.ids_query: ids_query,
            tipg_deps.properties_query: properties_query,
            tipg_deps.OutputType: output_type,
            tipg_deps.ItemsOutputType: items_output_type,
            tipg_deps.QueryablesOutputType: queryables_output_type,
        }
    )
    previous_validation = app.exception_handlers.get(
        RequestValidationError, request_validation_exception_handler
    )
    previous_http = app.exception_handlers.get(HTTPException, http_exception_handler)

    async def tipg_error(request: Request, exc: Exception) -> Response:
        return _respond(request, _tipg_error(request, exc))

    async def database_error(request: Request, exc: Exception) -> Response:
        err = _database_client_error(request, exc)
        if err is None:
            raise exc  # a server fault: a 500, as with no handler
        log.info("%s %s: %s", request.method, request.url.path, exc)
        return _respond(request, err)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError) or not _is_ogc_route(request):
            return await _delegate(previous_validation, request, exc)
        detail = [
            {
                "loc": list(error.get("loc") or ()),
                "msg": _validation_msg(dict(error)),
                "type": str(error.get("type", "value_error")),
            }
            for error in exc.errors()
        ]
        log.info("%s %s: validation %s", request.method, request.url.path, detail)
        return JSONResponse({"detail": detail}, status_code=400)

    async def http_error(request: Request, exc: Exception) -> Response:
        ogc = _is_ogc_route(request) or _OGC_PATH.match(request.url.path) is not None
        if not isinstance(exc, HTTPException) or not ogc or exc.__cause__ is not None:
            return await _delegate(previous_http, request, exc)
        path = request.url.path
        if exc.status_code == 404:
            err = OgcError(
                f"没有这个 OGC API 地址：{path}；可用：{OGC_PATHS}",
                loc=("path",),
                code="not_found",
                status=404,
            )
        elif exc.status_code == 405:
            msg = f"{path} 不支持 {request.method} 请求，只支持 GET"
            err = OgcError(msg, loc=("method",), code="method_not_allowed", status=405)
        else:
            msg = f"请求无效（HTTP {exc.status_code}）：{path}"
            err = OgcError(msg, loc=("path",), code="http_error", status=exc.status_code)
        response = _respond(request, err)
        response.headers.update(exc.headers or {})
        return response

    for cls in TIPG_CLIENT_ERRORS:
        app.add_exception_handler(cls, tipg_error)
    app.add_exception_handler(PostgresError, database_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
