"""With API keys set, every route but ``/health`` needs one.

The table is the app's own route list (what its OpenAPI schema is built from, plus the routes
FastAPI keeps out of the schema: the schema itself and the docs pages), the live gateway's
published schema, and the pages an operator might expect to be open. Each is called on the
live gateway (local engine, tiny model, keys configured) without a key and with a wrong one.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from medassist.serve.api_server import create_app
from medassist.serve.config import ServeConfig

ALWAYS_ASKED = {("GET", "/metrics"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json"),
                ("GET", "/docs/oauth2-redirect"), ("GET", "/no-such-route")}


def app_routes(tiny_model_dir, **settings) -> set[tuple[str, str]]:
    """Every (method, path) the app answers; the engine is built, not started."""
    app = create_app(ServeConfig(model=str(tiny_model_dir), engine="local", **settings))
    return {(method, route.path) for route in app.routes for method in getattr(route, "methods", None) or ()}


def published_routes(live_server) -> set[tuple[str, str]]:
    schema = httpx.get(f"{live_server.url}/openapi.json", timeout=30,
                       headers={"Authorization": f"Bearer {live_server.api_key}"}).json()
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


@pytest.fixture(scope="module")
def table(tiny_model_dir, live_server) -> list[tuple[str, str]]:
    routes = app_routes(tiny_model_dir, docs=True) | published_routes(live_server) | ALWAYS_ASKED
    assert {("POST", "/v1/chat/completions"), ("POST", "/v1/diagnose"), ("GET", "/v1/models"),
            ("GET", "/health")} <= routes
    table = sorted(routes - {("GET", "/health"), ("HEAD", "/health")})
    assert len(table) >= 10
    return table


@pytest.mark.parametrize("auth", [None, "Bearer wrong-key", "Basic dGVzdA==", "Bearer", "Token test-key-medassist"])
def test_every_route_but_health_needs_the_key(live_server, table, auth) -> None:
    headers = {"Authorization": auth} if auth else {}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as http:
        for method, path in table:
            r = http.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
            if method != "HEAD":
                assert r.json()["error"] == {"message": "missing or invalid API key: send 'Authorization: Bearer "
                                             "<key>'", "type": "authentication_error", "param": None,
                                             "code": "invalid_api_key", "request_id": r.headers["x-request-id"]}
            assert r.headers["WWW-Authenticate"] == "Bearer"
        assert http.get("/health").status_code == 200


def test_the_key_opens_metrics_and_schema_and_docs_are_off(live_server) -> None:
    """The red-flag counts are on /metrics (Prometheus sends the key: ``authorization:`` in the
    scrape config). The docs pages are off by default, so nothing loads from a CDN."""
    with httpx.Client(base_url=live_server.url, timeout=30,
                      headers={"Authorization": f"Bearer {live_server.api_key}"}) as http:
        assert "medassist_red_flags_total" in http.get("/metrics").text
        assert "/v1/chat/completions" in http.get("/openapi.json").json()["paths"]
        for page in ("/docs", "/redoc"):
            assert http.get(page).status_code == 404


def test_docs_when_enabled_are_behind_the_key_too(tiny_model_dir) -> None:
    """``docs: true`` adds FastAPI's pages (they load Swagger UI and ReDoc from a CDN); the key
    middleware guards them like any other path. In process: the pages need no engine."""
    assert not {"/docs", "/redoc"} & {path for _, path in app_routes(tiny_model_dir)}
    app = create_app(ServeConfig(model=str(tiny_model_dir), engine="local", docs=True, api_keys=["k1"]))

    async def pages() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
            keyless = [(await http.get(p)).status_code for p in ("/docs", "/redoc", "/openapi.json")]
            keyed = [(await http.get(p, headers={"Authorization": "Bearer k1"})).status_code
                     for p in ("/docs", "/redoc", "/openapi.json")]
            return keyless + keyed

    assert asyncio.run(pages()) == [401, 401, 401, 200, 200, 200]
