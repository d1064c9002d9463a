"""``X-Request-Id``: accepted from the client (or a proxy) or generated, echoed on every response,
put on every log line (``medassist.logs.REQUEST_ID``) and into every error body.

An incoming id is kept only when it is a short token of safe characters: it is written into
log lines and response headers, so anything else (newlines, a pasted sentence) is replaced by a
generated id rather than echoed.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from medassist.logs import REQUEST_ID

HEADER = b"x-request-id"
_SAFE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def current() -> str | None:
    """The id of the request being handled, or None outside one."""
    value = REQUEST_ID.get()
    return None if value == "-" else value


class RequestIdMiddleware:
    """Outermost ASGI middleware, so refused (401) and failed (500) requests carry an id too."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), b"")
        request_id = given.decode() if _SAFE.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)

        async def with_header(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, with_header)
        finally:
            REQUEST_ID.reset(token)
