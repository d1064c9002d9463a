"""The FastAPI gateway: thin routes over ``serving.ChatService`` (vLLM's entrypoints shape).

``create_app(settings, engine, retrieval)`` builds it; engines and the index start in the
lifespan, so uvicorn's graceful shutdown lets in-flight streams finish before they stop.
With API keys set, every route but ``/health`` needs one (``auth.py``). The docs pages are off
unless ``docs: true``: FastAPI's pages load Swagger UI and ReDoc from a CDN, which a hospital's
air-gapped network cannot reach, and a browser's address bar cannot send a key.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from medassist.serve.auth import ApiKeyMiddleware
from medassist.serve.completions import Completions
from medassist.serve.engines import Engine, build_engine
from medassist.serve.grounding import RetrievalService
from medassist.serve.metrics import Metrics
from medassist.serve.protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    ErrorInfo,
    ErrorResponse,
    ModelCard,
    ModelList,
)
from medassist.serve.request_id import RequestIdMiddleware
from medassist.serve.serving import ApiError, ChatService, Slot, requested_schema
from medassist.serve.settings import ServeSettings, resolve_max_model_len

log = logging.getLogger("medassist.serve")

M = TypeVar("M", bound=BaseModel)

CLIENT_CLOSED = 499  # nginx's status for a client that left before its response; it is never sent


def _error(status: int, message: str, type: str, **kw: Any) -> JSONResponse:
    return JSONResponse(ErrorResponse(error=ErrorInfo(message=message, type=type, **kw)).model_dump(),
                        status_code=status)


async def read_body(request: Request, model: type[M], max_bytes: int) -> M:
    """Parse a JSON body into ``model``; every failure is a 400 naming the field or limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(400, f"request body of {declared} bytes exceeds limits.max_body_bytes={max_bytes}",
                       code="max_body_bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > max_bytes:
            raise ApiError(400, f"request body exceeds limits.max_body_bytes={max_bytes}", code="max_body_bytes")
    try:
        data = json.loads(body)
    except ValueError as exc:  # bad JSON, bad UTF-8, or an integer past Python's 4300-digit limit
        raise ApiError(400, f"request body is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        message = "unknown field; this API does not define it" if first["type"] == "extra_forbidden" else first["msg"]
        raise ApiError(400, f"{where or 'body'}: {message}", param=where, code="invalid_value") from exc


class MetricsMiddleware:
    """Counts every response by route and status and times it (streams until their last byte)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), {"code": 500}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope["path"] if scope["path"] in ROUTES else "other"
            self.metrics.requests.labels(route, str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


ROUTES = {"/v1/chat/completions", "/v1/completions", "/v1/diagnose", "/v1/embeddings", "/v1/models", "/health",
          "/metrics"}


ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 404, 429, 502, 503, 504)}


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body the route parses itself (so limits and errors stay OpenAI-shaped)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _documented_openapi(app: FastAPI, bodies: list[type[BaseModel]]) -> dict[str, Any]:
    """FastAPI's schema plus the hand-parsed request bodies' models, built once."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, defs = models_json_schema([(m, "validation") for m in bodies], ref_template="#/components/schemas/{model}")
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: ServeSettings, engine: Engine | None = None,
               retrieval: RetrievalService | None = None) -> FastAPI:
    resolve_max_model_len(settings)  # null: the model's own context, before anything sizes against it
    engine = engine or build_engine(settings)
    if retrieval is None and settings.index:
        retrieval = RetrievalService(settings.index)
    metrics = Metrics(request_timeout_s=settings.limits.request_timeout_s)
    service = ChatService(settings, engine, retrieval, metrics)
    completions = Completions(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        if retrieval is not None:
            await retrieval.start()
        try:
            yield
        finally:
            if retrieval is not None:
                await retrieval.stop()
            await engine.stop()

    app = FastAPI(title="medassist", version="0.1.0", lifespan=lifespan,
                  description="OpenAI-compatible decision-support API with PubMed grounding. Not a doctor.",
                  docs_url="/docs" if settings.docs else None, redoc_url="/redoc" if settings.docs else None)
    app.state.service = service
    if settings.api_keys:
        app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    if settings.cors_origins:  # outside the key check: a browser's preflight carries no key
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
                           expose_headers=["X-Request-Id", "Retry-After"])
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # refused requests are counted too
    app.add_middleware(RequestIdMiddleware)  # outermost: every response and log line has the id

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def client_left(request: Request, exc: ClientDisconnect) -> Response:
        """A client that hangs up before its body is read is a normal event, not a server error."""
        log.info("client disconnected before its request body was read: %s %s", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), "invalid_request_error")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error ({exc.__class__.__name__}); see the server log", "server_error")

    async def generation_slot() -> AsyncIterator[Slot]:
        """The request's slot. The route releases it when the work ends; this exit, which FastAPI
        runs once the response has ended in any way, is the backstop (see ``Slot``)."""
        slot = service.slot()
        try:
            yield slot
        finally:
            slot.release()

    limits = settings.limits

    chat_ok = {"model": ChatCompletionResponse,
               "content": {"text/event-stream": {"schema": {"type": "string"}}},
               "description": "A completion, or server-sent chunks ending with data: [DONE] when stream is true."}

    @app.post("/v1/chat/completions", openapi_extra=_json_body(ChatCompletionRequest),
              responses={200: chat_ok, **ERRORS})
    async def chat_completions(request: Request, slot: Slot = Depends(generation_slot)) -> Any:
        req = await read_body(request, ChatCompletionRequest, limits.max_body_bytes)
        slot.take()
        if not req.stream:
            try:
                return (await service.complete(req)).model_dump()
            finally:
                slot.release()
        prep = await service.prepare(req, requested_schema(req))
        return StreamingResponse(slot.releasing(service.stream(req, prep)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/v1/completions", openapi_extra=_json_body(CompletionRequest),
              responses={200: {"model": CompletionResponse,
                               "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **ERRORS})
    async def text_completions(request: Request, slot: Slot = Depends(generation_slot)) -> Any:
        """Raw text continued by the model (no chat template, no retrieval): for evaluation harnesses."""
        req = await read_body(request, CompletionRequest, limits.max_body_bytes)
        slot.take()
        if not req.stream:
            try:
                return (await completions.complete(req)).model_dump(exclude_none=True)
            finally:
                slot.release()
        preps = await completions.prepare(req)
        return StreamingResponse(slot.releasing(completions.stream(req, preps)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/v1/diagnose", openapi_extra=_json_body(DiagnoseRequest),
              responses={200: {"model": DiagnoseResponse}, **ERRORS})
    async def diagnose(request: Request, slot: Slot = Depends(generation_slot)) -> Any:
        req = await read_body(request, DiagnoseRequest, limits.max_body_bytes)
        slot.take()
        try:
            return (await service.diagnose(req)).model_dump()
        finally:
            slot.release()

    def model_cards() -> dict[str, ModelCard]:
        cards = {name: ModelCard(id=name, root=settings.model) for name in settings.model_names}
        if retrieval is not None:
            cards[retrieval.embedding_model] = ModelCard(id=retrieval.embedding_model, root=retrieval.embedding_model,
                                                      kind="embedding")
        return cards

    @app.get("/v1/models", responses={200: {"model": ModelList}, 401: ERRORS[401]})
    async def models() -> Any:
        return ModelList(data=list(model_cards().values())).model_dump()

    @app.get("/v1/models/{model_id:path}", responses={200: {"model": ModelCard}, 401: ERRORS[401], 404: ERRORS[404]})
    async def model(model_id: str) -> Any:
        cards = model_cards()
        if model_id not in cards:
            raise ApiError(404, f"model {model_id!r} does not exist; available: {', '.join(cards)}",
                           param="model", code="model_not_found")
        return cards[model_id].model_dump()

    @app.post("/v1/embeddings", openapi_extra=_json_body(EmbeddingRequest),
              responses={200: {"model": EmbeddingResponse}, **ERRORS})
    async def embeddings(request: Request) -> Any:
        """The retrieval index's encoder (unit vectors, the ones retrieval compares), so LangChain's
        ``OpenAIEmbeddings``, ragas and other RAG tools embed exactly as medassist retrieves."""
        req = await read_body(request, EmbeddingRequest, limits.max_body_bytes)
        if retrieval is None:
            raise ApiError(400, "this server has no index, so no embedding model (start it with --index DIR)",
                           param="model", code="embeddings_unavailable")
        if req.model != retrieval.embedding_model:
            raise ApiError(404, f"embedding model {req.model!r} does not exist; this server embeds with "
                           f"{retrieval.embedding_model!r}", param="model", code="model_not_found")
        vectors, tokens = await retrieval.embed(req.texts, query=req.input_type == "query")
        if req.dimensions is not None and req.dimensions != vectors.shape[1]:
            raise ApiError(400, f"dimensions={req.dimensions}: {req.model} gives {vectors.shape[1]}-d vectors "
                           "and cannot shorten them", param="dimensions", code="invalid_value")
        data = [Embedding(index=i, embedding=base64.b64encode(v.astype("<f4").tobytes()).decode()
                          if req.encoding_format == "base64" else v.tolist())
                for i, v in enumerate(vectors)]
        return EmbeddingResponse(data=data, model=req.model,
                                 usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)).model_dump()

    @app.get("/health", responses={503: {"description": "The engine cannot answer now (restarting or failed)."}})
    async def health() -> Any:
        state = engine.status()
        body = {"status": "ok" if state.ready else state.state, "engine": engine.name,
                "index": retrieval is not None, "in_flight": service.in_flight, "engine_restarts": state.restarts}
        if state.ready:
            return body
        return JSONResponse({**body, "detail": state.detail}, status_code=503,
                            headers={"Retry-After": str(state.retry_after_s)})

    @app.get("/metrics", response_class=PlainTextResponse,
             responses={200: {"description": "Prometheus text exposition format"}})
    async def prometheus() -> Response:
        state = engine.status()
        metrics.engine_up.set(int(state.ready))
        metrics.engine_restarts.set(state.restarts)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.openapi = lambda: _documented_openapi(app, [ChatCompletionRequest, CompletionRequest, DiagnoseRequest,
                                                    EmbeddingRequest])
    return app
