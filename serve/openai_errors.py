"""Every error the gateway answers is an OpenAI error object (``protocol.ErrorResponse``).

``GatewayError`` is what serving code raises; ``EXCEPTION_HANDLERS`` (given to ``FastAPI`` in
``api_server.create_app``) turn it, FastAPI's request validation, Starlette's HTTP errors and anything
unexpected into that shape. Validation failures are 400s naming the field, as OpenAI's are (not
FastAPI's 422 with a list). FastAPI reads the request body itself, and two of its failures arrive
as a plain ``HTTPException`` whose cause says what happened: text that ``json.loads`` refused
outside its decoder (bad UTF-8, an integer past Python's 4300-digit limit) and a client that hung
up before its body arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException as FastAPIHTTPException
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from medassist.serve.protocol import ErrorInfo, ErrorResponse

log = logging.getLogger("medassist.serve")

CLIENT_CLOSED = 499  # nginx's status for a client that left before its response; it is never sent


class GatewayError(FastAPIHTTPException):
    """An error the gateway answers with: an HTTP status and an OpenAI error body.

    An ``HTTPException`` so that one raised while FastAPI reads the body (``body_limit``) reaches
    its handler as itself rather than as FastAPI's "error parsing the body"."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status, message, headers)
        self.status, self.headers = status, headers or {}
        self.body = ErrorResponse(error=ErrorInfo(message=message, type=type, param=param, code=code))

    def response(self) -> JSONResponse:
        return JSONResponse(self.body.model_dump(), status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> GatewayError:
    return GatewayError(400, message, param=param, code=code)


def validation_error(exc: RequestValidationError) -> GatewayError:
    """The first thing wrong with a request, as a 400 naming its field (``messages.1.role``)."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    if loc[:1] == ["body"]:
        loc = loc[1:]
    kind = first["type"]
    if kind == "json_invalid":
        return bad_request(
            f"request body is not valid JSON: {first['ctx']['error']} at char {loc[0]}", code="invalid_json"
        )
    if not loc:  # the body as a whole
        if kind == "missing":
            return bad_request("request body is empty; expected a JSON object", code="invalid_json")
        if isinstance(first.get("input"), bytes):
            return bad_request(
                "request body must be JSON, sent with 'Content-Type: application/json'", code="invalid_json"
            )
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            return bad_request("request body must be a JSON object", code="invalid_json")
    where = ".".join(map(str, loc)) or None
    message = "unknown field; this API does not define it" if kind == "extra_forbidden" else first["msg"]
    return bad_request(f"{where or 'body'}: {message}", param=where)


def http_error(exc: HTTPException) -> GatewayError | None:
    """Starlette's and FastAPI's own HTTP errors in OpenAI's shape; None for a client already gone."""
    cause = exc.__cause__
    if isinstance(cause, ClientDisconnect):
        return None
    if isinstance(cause, ValueError):  # bad UTF-8, or an integer past Python's 4300-digit limit
        return bad_request(f"request body is not valid JSON: {cause}", code="invalid_json")
    return GatewayError(exc.status_code, str(exc.detail), headers=exc.headers)


async def _gateway_error(request: Request, exc: GatewayError) -> Response:
    return exc.response()


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    return validation_error(exc).response()


async def _http_error(request: Request, exc: HTTPException) -> Response:
    error = http_error(exc)
    if error is None:
        # a normal event, not a server error: one line, no traceback
        log.info("client disconnected before its request body was read: %s %s", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED)
    return error.response()


async def _internal_error(request: Request, exc: Exception) -> Response:
    return GatewayError(
        500, f"internal error ({exc.__class__.__name__}); see the server log", type="server_error"
    ).response()


Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]
EXCEPTION_HANDLERS: dict[type[Exception], Handler] = {
    GatewayError: _gateway_error,
    RequestValidationError: _validation_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}
