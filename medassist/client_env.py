"""What a client of a medassist server (the UI, ``medassist eval --endpoint``, the demo) reads from
its environment: ``MEDASSIST_API_URL`` and ``MEDASSIST_API_KEY``, falling back to the OpenAI SDK's
own ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, so a shell set up for any OpenAI client works.
(The server's keys are ``MEDASSIST_API_KEYS``, plural: a server holds several.)"""

from __future__ import annotations

import os

ENV_API_URL, ENV_API_KEY = "MEDASSIST_API_URL", "MEDASSIST_API_KEY"
OPENAI_BASE_URL, OPENAI_API_KEY = "OPENAI_BASE_URL", "OPENAI_API_KEY"


def api_key() -> str | None:
    return os.environ.get(ENV_API_KEY) or os.environ.get(OPENAI_API_KEY) or None


def api_url(default: str) -> str:
    """The server's root URL (``OPENAI_BASE_URL`` names its ``/v1``, which is dropped)."""
    url = os.environ.get(ENV_API_URL) or os.environ.get(OPENAI_BASE_URL) or default
    url = url.strip().rstrip("/")
    return url.removesuffix("/v1") if not os.environ.get(ENV_API_URL) else url
