"""A stand-in for ``python -m vllm.entrypoints.openai.api_server``, for tests on machines where
vLLM cannot start (it needs .venv-vllm and minutes). It keeps the two behaviours of vLLM's API
server that the gateway relies on for its per-start key: ``/health`` answers without a key, and
``/v1/*`` requires ``Authorization: Bearer $VLLM_API_KEY`` (vLLM's ``AuthenticationMiddleware``,
enabled when ``VLLM_API_KEY`` is set and ``--api-key`` is not). Chat completions stream one
fixed word; with ``max_tokens`` above 8 they stream that many words, one every 50 ms, so a test
can kill the process mid-stream.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "stand-in"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as uvicorn
    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, b"", "text/plain")
        elif self._authorised():
            self._send(200, json.dumps({"data": [{"id": "medassist-base"}]}).encode(), "application/json")

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if not self._authorised():
            return
        if request.get("max_tokens", 0) > 8:
            self._stream_slowly(request["max_tokens"])
            return
        chunks = [{"choices": [{"index": 0, "delta": {"content": ANSWER}}]},
                  {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 3, "completion_tokens": 1}}]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self._send(200, body.encode(), "text/event-stream")

    def _stream_slowly(self, words: int) -> None:
        """Server-sent events written as they are made, in HTTP chunks as uvicorn sends vLLM's."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        for _ in range(words):
            chunk(f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': 'word '}}]})}\n\n".encode())
            time.sleep(0.05)
        final = {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
                 "usage": {"prompt_tokens": 3, "completion_tokens": words}}
        chunk(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        chunk(b"")

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {os.environ['VLLM_API_KEY']}":
            return True
        self._send(401, json.dumps({"error": {"message": "Unauthorized"}}).encode(), "application/json")
        return False

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args, _ = parser.parse_known_args()
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()
