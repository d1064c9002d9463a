"""The FastAPI gateway, assembled as vLLM's ``build_app``: state, middleware, error handlers, routers.

``create_app(settings, engine, retrieval)`` puts the serving objects on ``app.state`` (the routes
in ``routes.py`` reach them through dependencies); engines and the index start in the lifespan,
so uvicorn's graceful shutdown lets in-flight streams finish before they stop. With API keys set,
every route but ``/health`` needs one (``auth.py``). The docs pages are off unless
``docs: true``: FastAPI's pages load Swagger UI and ReDoc from a CDN, which a hospital's air-gapped
network cannot reach, and a browser's address bar cannot send a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from medassist.serve.auth import ApiKeyMiddleware
from medassist.serve.body_limit import BodyLimitMiddleware
from medassist.serve.completions import Completions
from medassist.serve.config import ServeConfig, resolve_max_model_len
from medassist.serve.embeddings import Embeddings
from medassist.serve.engines import Engine, build_engine
from medassist.serve.metrics import Metrics
from medassist.serve.openai_errors import EXCEPTION_HANDLERS
from medassist.serve.request_id import RequestIdMiddleware
from medassist.serve.routes import operations, v1
from medassist.serve.serving import ChatService
from medassist.serve.sources import RetrievalService


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine, retrieval = app.state.engine, app.state.retrieval
    await engine.start()
    if retrieval is not None:
        await retrieval.start()
    try:
        yield
    finally:
        if retrieval is not None:
            await retrieval.stop()
        await engine.stop()


def create_app(
    settings: ServeConfig, engine: Engine | None = None, retrieval: RetrievalService | None = None
) -> FastAPI:
    resolve_max_model_len(settings)  # null: the model's own context, before anything sizes against it
    engine = engine or build_engine(settings)
    if retrieval is None and settings.index:
        retrieval = RetrievalService(settings.index)
    metrics = Metrics(request_timeout_s=settings.limits.request_timeout_s)
    service = ChatService(settings, engine, retrieval, metrics)

    app = FastAPI(
        title="medassist",
        version="0.1.0",
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        description="OpenAI-compatible decision-support API with PubMed grounding. Not a doctor.",
        docs_url="/docs" if settings.docs else None,
        redoc_url="/redoc" if settings.docs else None,
    )
    app.state.settings, app.state.engine, app.state.retrieval = settings, engine, retrieval
    app.state.service, app.state.completions = service, Completions(service)
    app.state.embeddings = Embeddings(retrieval)
    app.include_router(v1)
    app.include_router(operations)

    # the last added runs first: request id, metrics, CORS, the key check, then the body limit
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    if settings.api_keys:
        app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    if settings.cors_origins:  # outside the key check: a browser's preflight carries no key
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Retry-After"],
        )
    metrics.instrument(app)  # refused requests are counted too
    app.add_middleware(RequestIdMiddleware)  # outermost: every response and log line has the id
    return app
