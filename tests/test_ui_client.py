"""How the client classifies HTTP failures it cannot easily provoke from the live gateway (429, 5xx).

The responses are real ``httpx.Response`` objects wrapped in the openai client's own exception
types, exactly as the client raises them; 401, unreachable and timeouts are exercised against
real sockets and the live gateway in ``test_ui_app``.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from medassist.ui.client import ApiError, api_errors
from medassist.ui.i18n import STRINGS, t

URL = "http://127.0.0.1:8000"


def _raise(cls, status: int, headers: dict[str, str] | None = None):
    body = {"error": {"message": f"limit hit ({status})", "type": "x", "param": None, "code": None}}
    response = httpx.Response(status, headers=headers, json=body, request=httpx.Request("POST", f"{URL}/v1/x"))
    with api_errors(URL):
        raise cls(f"Error code: {status}", response=response, body=body)


def test_rate_limited_keeps_retry_after():
    with pytest.raises(ApiError) as info:
        _raise(openai.RateLimitError, 429, {"retry-after": "3"})
    err = info.value
    assert (err.kind, err.retry_after, err.detail) == ("rate_limited", "3", "limit hit (429)")
    assert t("en", "err_rate_limited", url=err.url, retry_after=err.retry_after) == (
        f"The API at {URL} is busy (429). Try again in 3 seconds.")


@pytest.mark.parametrize(("cls", "status", "kind"), [
    (openai.BadRequestError, 400, "rejected"), (openai.AuthenticationError, 401, "unauthorized"),
    (openai.PermissionDeniedError, 403, "unauthorized"), (openai.InternalServerError, 502, "server"),
    (openai.APIStatusError, 504, "timeout"),
])
def test_status_codes_map_to_page_states(cls, status, kind):
    with pytest.raises(ApiError) as info:
        _raise(cls, status)
    assert info.value.kind == kind and info.value.url == URL


def test_both_languages_have_every_string():
    assert STRINGS["en"].keys() == STRINGS["zh"].keys()
    for key in (k for k in STRINGS["en"] if k.startswith("err_")):
        for lang in STRINGS:
            assert "{url}" in STRINGS[lang][key], (lang, key)
