"""The gateway's routes: thin, as vLLM's ``api_server`` (parse, hand over, answer).

FastAPI parses each body into its ``protocol`` model (a failure is a 400 naming the field,
``openai_errors.py``); the work is ``serving.ChatService``'s, reached through ``app.state`` by
dependencies. Generation routes hold a concurrency ``Slot``; streams are server-sent events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from medassist.serve.completions import Completions
from medassist.serve.embeddings import Embeddings
from medassist.serve.openai_errors import GatewayError
from medassist.serve.protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ErrorResponse,
    EvidenceList,
    ModelCard,
    ModelList,
)
from medassist.serve.serving import ChatService, Slot

ERROR = {"model": ErrorResponse, "description": "An OpenAI error object."}
# "4XX" also keeps FastAPI from documenting a 422 this API never sends (validation errors are 400s)
ERRORS: dict[int | str, dict[str, Any]] = {status: ERROR for status in (400, 401, 404, 429, "4XX", 502, 503, 504)}
STREAM = {"text/event-stream": {"schema": {"type": "string"}}}


def chat_service(request: Request) -> ChatService:
    return request.app.state.service


def completions_service(request: Request) -> Completions:
    return request.app.state.completions


def embeddings_service(request: Request) -> Embeddings:
    return request.app.state.embeddings


async def generation_slot(service: Annotated[ChatService, Depends(chat_service)]) -> AsyncIterator[Slot]:
    """The request's claim on a generation slot, released (again, harmlessly) once the response has
    ended in any way: the case its own release cannot cover is a stream cancelled before it began."""
    slot = service.slot()
    try:
        yield slot
    finally:
        slot.release()


Service = Annotated[ChatService, Depends(chat_service)]
HeldSlot = Annotated[Slot, Depends(generation_slot)]


def json_response(body: BaseModel, **dump: Any) -> Response:
    """``body`` serialised once, by pydantic (FastAPI would encode the returned model again)."""
    return Response(body.model_dump_json(**dump), media_type="application/json")


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """``events`` as server-sent events, written as OpenAI writes them (``data: ...`` and a blank line).

    Starlette's ``StreamingResponse``, not sse-starlette's ``EventSourceResponse``: proxying a fast
    upstream, the gateway spent 0.081-0.090 ms of CPU per streamed token with sse-starlette against
    0.065 ms with this (its per-event cancel scope and framing), and an OpenAI stream needs none of
    its keep-alive pings while tokens flow. Starlette stops a stream whose client has gone.
    """

    async def framed() -> AsyncIterator[str]:
        async for data in events:
            yield f"data: {data}\n\n"

    return StreamingResponse(
        framed(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


v1 = APIRouter(responses=ERRORS)  # the OpenAI-compatible API and medassist's /v1/diagnose


@v1.post(
    "/v1/chat/completions",
    responses={
        200: {
            "model": ChatCompletionResponse,
            "content": STREAM,
            "description": "A completion, or server-sent chunks ending with data: [DONE] when stream is true.",
        }
    },
)
async def chat_completions(req: ChatCompletionRequest, service: Service, slot: HeldSlot) -> Response:
    if req.stream:
        return event_stream(await slot.stream(service.open_stream, req))
    return json_response(await slot.run(service.complete, req))


@v1.post("/v1/completions", responses={200: {"model": CompletionResponse, "content": STREAM}})
async def text_completions(
    req: CompletionRequest, slot: HeldSlot, completions: Annotated[Completions, Depends(completions_service)]
) -> Response:
    """Raw text continued by the model (no chat template, no retrieval): for evaluation harnesses."""
    if req.stream:
        return event_stream(await slot.stream(completions.open_stream, req))
    return json_response(await slot.run(completions.complete, req), exclude_none=True)


@v1.post("/v1/diagnose", responses={200: {"model": DiagnoseResponse},
                                     501: {**ERROR, "description": "attribution: the engine cannot score."}})
async def diagnose(req: DiagnoseRequest, service: Service, slot: HeldSlot) -> Response:
    """A case as a ranked differential (JSON valid against its schema), with sources.

    The case is free text (``case``) or a consultation in the server knowledge base's codes
    (``consultation``, rendered as the vignette the model was trained on). Each row carries the
    knowledge base's ``severity`` and ``must_not_miss``; ``attribution: true`` adds the findings for and
    against each condition; ``next_questions: N`` suggests the N most informative questions to ask next.
    """
    return json_response(await slot.run(service.diagnose, req))


@v1.get("/v1/diagnose/evidences", responses={200: {"model": EvidenceList}})
async def diagnose_evidences(service: Service) -> Response:
    """The server knowledge base's questions, so a client builds its consultation form from them."""
    return json_response(service.evidences())


@v1.post("/v1/embeddings", responses={200: {"model": EmbeddingResponse}})
async def embeddings(req: EmbeddingRequest, embedder: Annotated[Embeddings, Depends(embeddings_service)]) -> Response:
    return json_response(await embedder.create(req))


@v1.get("/v1/models", responses={200: {"model": ModelList}})
async def models(service: Service) -> Response:
    return json_response(ModelList(data=list(service.model_cards().values())))


@v1.get("/v1/models/{model_id:path}", responses={200: {"model": ModelCard}})
async def model(model_id: str, service: Service) -> Response:
    cards = service.model_cards()
    if model_id not in cards:
        raise GatewayError(
            404,
            f"model {model_id!r} does not exist; available: {', '.join(cards)}",
            param="model",
            code="model_not_found",
        )
    return json_response(cards[model_id])


operations = APIRouter()  # for load balancers and Prometheus


@operations.get("/health", responses={503: {"description": "The engine cannot answer now (restarting or failed)."}})
async def health(service: Service) -> Any:
    """Open without a key, for load balancers: 200 while the engine can answer, else 503."""
    engine = service.engine
    state = engine.status()
    body = {
        "status": "ok" if state.ready else state.state,
        "engine": engine.name,
        "index": service.retrieval is not None,
        "in_flight": service.in_flight,
        "engine_restarts": state.restarts,
    }
    if state.ready:
        return body
    return JSONResponse(
        {**body, "detail": state.detail}, status_code=503, headers={"Retry-After": str(state.retry_after_s)}
    )


@operations.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition format"}, 401: ERROR},
)
async def prometheus(service: Service) -> Response:
    metrics, state = service.metrics, service.engine.status()
    metrics.engine_up.set(int(state.ready))
    metrics.engine_restarts.set(state.restarts)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
