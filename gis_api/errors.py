"""One body shape for every error a client gets: FastAPI's 422 shape, zh-CN messages.

Four handlers, each answering ``{"detail": [{"loc": [...], "msg": <zh-CN>, "type": <code>}]}``:
our own :class:`GridmapError` (its status), FastAPI's request validation (422, with the
message put into Chinese), the framework's own statuses (404 no such path, 405 ...) and,
last, any exception nobody expected: a 500 that says only what a user can act on and an
error id, while the log gets the traceback under that id.
"""

from __future__ import annotations

import logging
import logging.handlers
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from layers.errors import GridmapError, plain_loc

log = logging.getLogger("gridmap")

INTERNAL_TYPE = "internal_error"


def error_id() -> str:
    """Return a short id that ties a user's message to the traceback in the log."""
    return uuid.uuid4().hex[:8]


def internal_message(eid: str) -> str:
    """Return the zh-CN text for an unexpected failure: what happened, what to do."""
    return (
        f"服务器内部错误（错误编号 {eid}）：本次操作未完成，数据未被修改。"
        "请稍后重试；如仍失败，请把错误编号告知管理员（详细信息已写入日志）"
    )


def log_to_file(path: Path) -> None:
    """Also write the ``gridmap`` log (tracebacks of internal errors) to ``path``, once."""
    path = path.resolve()
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)


# --- request validation in Chinese --------------------------------------------------------------

#: pydantic's error types → zh-CN, formatted with the error's ``ctx``.
_VALIDATION_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数，不能带小数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_too_short": "文本太短：至少 {min_length} 个字符",
    "string_too_long": "文本太长：最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不对：应符合 {pattern}",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "tuple_type": "应为数组",
    "set_type": "应为数组",
    "too_short": "数组太短：至少 {min_length} 项",
    "too_long": "数组太长：最多 {max_length} 项",
    "json_invalid": "请求体不是有效的 JSON：{error}",
    "json_type": "应为 JSON",
    "extra_forbidden": "不认识的字段",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为日期时间（ISO 8601）",
    "datetime_from_date_parsing": "应为日期时间（ISO 8601）",
    "uuid_parsing": "应为 UUID",
    "url_parsing": "应为网址",
    "union_tag_invalid": "类型不对：应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少区分类型的字段 {discriminator}",
    "value_error": "取值无效：{error}",
    "assertion_error": "取值无效：{error}",
}

#: Where in the request, said the way a person reads it.
_WHERE_ZH = {"query": "查询参数", "path": "路径参数", "body": "请求体", "header": "请求头"}


def validation_message(error: Mapping[str, Any]) -> str:
    """Return a pydantic/FastAPI validation error as one zh-CN sentence: where, what, value."""
    loc = [str(p) for p in error.get("loc", ())]
    where = _WHERE_ZH.get(loc[0], loc[0]) if loc else "请求"
    name = ".".join(loc[1:]) if len(loc) > 1 else ""
    template = _VALIDATION_ZH.get(str(error.get("type", "")))
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if template is None:
        what = f"取值无效（{error.get('type', '')}）"
    else:
        try:
            what = template.format(**ctx)
        except (KeyError, IndexError):
            what = template.split("：")[0]
    subject = f"{where} {name}".strip() if name else where
    given = ""
    if "input" in error and error.get("type") != "missing":
        shown = repr(error["input"]) if not isinstance(error["input"], str) else error["input"]
        if len(shown) <= 60:
            given = f"（实际为“{shown}”）"
    return f"{subject}：{what}{given}"


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, object]]:
    """Return FastAPI's validation errors in our body shape, messages in Chinese."""
    return [
        {
            "loc": plain_loc(e.get("loc", ())),
            "msg": validation_message(e),
            "type": str(e.get("type", "validation_error")),
        }
        for e in errors
    ]


# --- handlers -----------------------------------------------------------------------------------


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridmapError)
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.msg, exc_info=exc)
    else:
        log.info("%s %s: %s %s", request.method, request.url.path, exc.type, exc.msg)
    return JSONResponse({"detail": exc.details()}, status_code=exc.status)


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    log.info("%s %s: validation %s", request.method, request.url.path, details[:3])
    return JSONResponse({"detail": details}, status_code=422)


#: Statuses the framework itself answers (no route, wrong method...), said in Chinese.
_HTTP_ZH = {
    400: ("bad_request", "请求无法解析"),
    401: ("unauthorized", "需要登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "没有这个地址：{path}"),
    405: ("method_not_allowed", "{path} 不支持 {method} 请求"),
    406: ("not_acceptable", "无法按请求的格式返回"),
    413: ("request_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的请求体格式"),
}


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, GridmapError):  # e.g. a body stopped at its size limit
        return await _handle(request, exc.__cause__)
    code, text = _HTTP_ZH.get(exc.status_code, ("http_error", "请求失败"))
    msg = text.format(path=request.url.path, method=request.method)
    if isinstance(exc.detail, str) and any("\u4e00" <= ch <= "\u9fff" for ch in exc.detail):
        msg = exc.detail  # a route's own Chinese message
    body = {"detail": [{"loc": [], "msg": msg, "type": code}]}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    eid = error_id()
    log.error("internal error %s on %s %s", eid, request.method, request.url.path, exc_info=exc)
    body = {"detail": [{"loc": [], "msg": internal_message(eid), "type": INTERNAL_TYPE}]}
    return JSONResponse(body, status_code=500, headers={"X-Error-Id": eid})


def install(app: FastAPI) -> None:
    """Register the handlers: ours, request validation, and the last resort."""
    app.add_exception_handler(GridmapError, _handle)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(HTTPException, _handle_http)
    app.add_exception_handler(Exception, _handle_unexpected)
