"""``limits.max_body_bytes``: a larger request body is a 400 naming the limit, before it is read.

A declared ``Content-Length`` over the limit is refused at once; a chunked body, which declares
none, when the running count passes it. (FastAPI's own ``max_body_size`` answers 413 in plain
text, replacing even the OpenAI error object a handler wrote, so the gateway keeps this check.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medassist.serve.openai_errors import GatewayError


def too_large(max_bytes: int, declared: str | None = None) -> GatewayError:
    size = f"of {declared} bytes " if declared else ""
    return GatewayError(400, f"request body {size}exceeds limits.max_body_bytes={max_bytes}", code="max_body_bytes")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(self.max_bytes, declared).response()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes)  # inside FastAPI's body read: reaches the handler as itself
            return message

        await self.app(scope, counted, send)
