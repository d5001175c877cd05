"""Request size limits, enforced before a body is read into memory.

A JSON body is parsed whole, so a 200 MB POST would take the server's memory before any
validation could refuse it. This middleware refuses a body over its limit by its
``Content-Length`` at once, and counts the bytes of a body sent without one (chunked),
stopping at the limit. File uploads (multipart) get the larger upload limit; the upload
route checks the file itself too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from layers.errors import RequestTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Multipart framing around an uploaded file (boundaries, headers, form fields).
MULTIPART_SLACK = 1 << 20


class BodySizeLimit:
    """ASGI middleware: 413 for a body over ``json_bytes`` (``upload_bytes`` for multipart)."""

    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, refusing or cutting off a body over its limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        upload = headers.get("content-type", "").startswith("multipart/")
        limit = self.upload_bytes if upload else self.json_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, _too_large(limit, upload))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI passes an HTTPException from reading the body on as it is;
                    # the error handler answers it in our body shape.
                    exc = _too_large(limit, upload)
                    raise HTTPException(exc.status, detail=exc.msg) from exc
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int, upload: bool) -> RequestTooLarge:
    mb = limit / (1 << 20)
    what = "上传文件" if upload else "请求体"
    msg = f"{what}过大：超过 {mb:.0f} MB 上限，请分批提交或缩小范围"
    return RequestTooLarge(msg, loc=("body",))


async def _refuse(send: Send, exc: RequestTooLarge) -> None:
    body = json.dumps({"detail": exc.details()}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
