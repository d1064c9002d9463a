"""The settings sidebar (language, mode, model, retrieval) and its version footer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from medassist.ui.client import ApiClient, ApiError, ModelInfo, settings_from_env
from medassist.ui.history import HistoryBudget
from medassist.ui.i18n import LANGUAGES, t


@dataclass
class Settings:
    lang: str
    mode: str  # "chat" | "guided" | "case"
    client: ApiClient
    model: str | None
    rag: bool
    k: int
    temperature: float
    max_tokens: int | None = None  # None: the server's default
    models: list[ModelInfo] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)
    error: ApiError | None = None  # listing the models failed: the page explains it
    history: HistoryBudget = field(default_factory=HistoryBudget)  # how much of the chat each question sends

    @property
    def model_info(self) -> ModelInfo | None:
        return next((m for m in self.models if m.id == self.model), None)


@st.cache_resource(show_spinner=False)
def _client(url: str, api_key: str | None, timeout: float) -> ApiClient:
    """One openai client per server process and setting, kept in Streamlit's resource cache rather
    than in session state, so the key stays in this process's memory and nothing the page holds
    or draws can reveal it."""
    return ApiClient(url, api_key, timeout)


@st.cache_data(ttl=60, show_spinner=False)
def _server(_client: ApiClient, client_id: int) -> tuple[list[ModelInfo], dict[str, Any]]:
    """The served models and /health (engine, index), fetched once a minute per client."""
    return _client.models(), _client.health()


def render() -> Settings:
    """The settings a clinician may change. The API URL and key are the operator's
    (``medassist ui --api``, ``MEDASSIST_API_KEY``): a visitor able to re-point the URL would
    make this server send its key, and its requests, wherever they like."""
    sb = st.sidebar
    lang = sb.radio("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.__getitem__,
                    horizontal=True, key="lang")
    mode = sb.radio(t(lang, "mode"), ["chat", "guided", "case"], format_func=lambda m: t(lang, f"mode_{m}"),
                    horizontal=True, key="mode")
    sb.header(t(lang, "settings"))
    client = _client(*settings_from_env())
    models: list[ModelInfo] = []
    health: dict[str, Any] = {}
    error = None
    try:
        models, health = _server(client, id(client))
    except ApiError as err:
        error = err
    model = sb.selectbox(t(lang, "model"), [m.id for m in models], key="model",
                         placeholder=t(lang, "no_models"))
    has_index = bool(health.get("index", True))
    rag = sb.toggle(t(lang, "retrieval"), value=has_index, key="rag", disabled=not has_index,
                    help=None if has_index else t(lang, "no_index"))
    rag = rag and has_index
    k = sb.slider(t(lang, "num_sources"), 1, 10, 5, key="k", disabled=not rag)
    temperature = sb.slider(t(lang, "temperature"), 0.0, 1.0, 0.2, 0.05, key="temperature")
    max_tokens = sb.number_input(t(lang, "max_tokens"), min_value=16, max_value=4096, value=None, step=64,
                                 key="max_tokens", placeholder=t(lang, "server_default"))
    return Settings(lang, mode, client, model, rag, k, temperature, max_tokens, models, health, error,
                    HistoryBudget.from_env())


def footer(settings: Settings) -> None:
    """Which model and version answered, and with what retrieval, for the record."""
    info = settings.model_info
    details = {**(info.details if info else {}), "engine": settings.health.get("engine")}
    version = " · ".join(f"{key} {value}" for key, value in details.items() if value) or "-"
    st.sidebar.divider()
    st.sidebar.caption(t(settings.lang, "footer", model=settings.model or "-", version=version,
                         retrieval=t(settings.lang, "on" if settings.rag else "off"), k=settings.k))
