"""``medassist serve``: the OpenAI-compatible gateway (vLLM, upstream or local engine)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import typer

from medassist.clitools import OVERRIDES, settings_epilog, sub_app
from medassist.config import parse_config
from medassist.models.hub import require_model
from medassist.serve.config import ServeConfig

STARTUP_FAILED = 3  # uvicorn.run's exit status when the app did not start (engine or index)
ENGINE_FAILED = 4  # the engine died later and could not be restarted

app = sub_app("Serve the assistant over an OpenAI-compatible API (grounded, with safety checks).",
              default_command=True)


@app.command("start", context_settings=OVERRIDES, epilog=settings_epilog(ServeConfig))
def start(
    ctx: typer.Context,
    config: Path = typer.Option(None, help="YAML with ServeConfig keys (configs/serve-*.yaml)."),
    model: str = typer.Option(None, help="Model folder or hub id (base, or merged tuned model)."),
    adapter: str = typer.Option(None, help="PEFT/LoRA adapter folder of the tuned model."),
    index: str = typer.Option(None, help="RAG index folder (medassist rag build); omit to serve ungrounded."),
    engine: str = typer.Option(None, help="vllm (default), local or upstream."),
    upstream: str = typer.Option(None, help="OpenAI-compatible base URL for --engine upstream."),
    host: str = typer.Option(None, help="Bind address (non-loopback needs MEDASSIST_API_KEYS)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
) -> None:
    """Start the gateway; other settings as --key value (e.g. --limits.max_concurrency 8)."""
    # the server's stack (uvicorn, FastAPI, the retriever, the engines) takes about a second to
    # import: `medassist --help` and every other command would pay it
    import uvicorn

    from medassist.serve.api_server import create_app

    named = {"model": model, "adapter": adapter, "index": index, "engine": engine, "upstream": upstream,
             "host": host, "port": port}
    overrides = [arg for key, value in named.items() if value is not None for arg in (f"--{key}", str(value))]
    settings = parse_config(ServeConfig, config, [*overrides, *ctx.args])
    if settings.engine != "upstream":
        require_model(settings.model, "--model")
    logging.getLogger("medassist.serve").info("settings: engine=%s model=%s adapter=%s index=%s limits=%s",
                                              settings.engine, settings.model, settings.adapter, settings.index,
                                              settings.limits)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                                           timeout_graceful_shutdown=settings.limits.shutdown_grace_s))
    engine = app.state.service.engine
    engine.on_failure = lambda: setattr(server, "should_exit", True)  # unrecoverable: exit for a supervisor
    with contextlib.suppress(KeyboardInterrupt):  # SIGTERM, re-raised by uvicorn after its graceful shutdown
        server.run()
    if not server.started:
        raise typer.Exit(STARTUP_FAILED)
    if engine.status().state == "failed":
        raise typer.Exit(ENGINE_FAILED)
