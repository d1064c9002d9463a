"""API keys, checked once for the whole app (as vLLM's ``--api-key`` middleware does).

A middleware rather than a per-route dependency, so nothing can be added without it: the
Prometheus page (red-flag counts by kind), the OpenAPI schema, the docs pages when enabled,
and unknown paths (401, so the route list is not probed) all need ``Authorization: Bearer``.
Only ``/health`` stays open, for load balancers and orchestrators.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi.responses import JSONResponse

from medassist.serve.protocol import ErrorInfo, ErrorResponse

OPEN_PATHS = frozenset({"/health"})

def unauthorized() -> ErrorResponse:
    """Built per request: the body carries the request's id."""
    return ErrorResponse(error=ErrorInfo(
        message="missing or invalid API key: send 'Authorization: Bearer <key>'", type="authentication_error",
        code="invalid_api_key"))


class ApiKeyMiddleware:
    """401 in OpenAI's error shape for every HTTP request without one of ``keys``, except ``OPEN_PATHS``."""

    def __init__(self, app: Any, keys: list[str]) -> None:
        self.app, self.keys = app, [k.encode() for k in keys]

    def _authorized(self, scope: dict) -> bool:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, token = header.partition(b" ")
        # every key is compared, in constant time, so the timing tells nothing about which matched
        matches = [hmac.compare_digest(token, key) for key in self.keys]
        return scheme.lower() == b"bearer" and any(matches)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        await JSONResponse(unauthorized().model_dump(), status_code=401,
                           headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
