"""The gateway for real: a uvicorn subprocess on loopback (``live_server``, local engine, tiny
model) called with the official openai client, LangChain's ChatOpenAI and raw HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from medassist.serve.protocol import MODEL_GROUNDED, MODEL_PLAIN


def test_models_and_health(client, http) -> None:
    health = http.get("/health").json()
    assert health["status"] == "ok"
    # the two chat models, and the index's encoder for /v1/embeddings
    assert health["index"] and len({m.id for m in client.models.list().data} - {MODEL_GROUNDED, MODEL_PLAIN}) == 1
    assert {MODEL_GROUNDED, MODEL_PLAIN} <= {m.id for m in client.models.list().data}


def test_chat_completion_with_openai_client(client) -> None:
    reply = client.chat.completions.create(
        model=MODEL_GROUNDED, max_tokens=24,
        messages=[{"role": "user", "content": "What is the first-line treatment of community-acquired pneumonia?"}],
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason in ("stop", "length")
    assert choice.message.content.rstrip().endswith("clinical judgement.")  # decision-support notice
    assert 0 < reply.usage.completion_tokens <= 24 and reply.usage.prompt_tokens > 0
    assert reply.model_extra["red_flags"] == []
    citations = reply.model_extra["citations"]
    assert citations, "a grounded answer must carry its retrieved sources"
    assert all({"pmid", "title", "snippet", "score", "year"} <= set(c) for c in citations)


def test_streaming_arrives_in_chunks(client) -> None:
    stream = client.chat.completions.create(
        model=MODEL_PLAIN, max_tokens=16, stream=True, stream_options={"include_usage": True},
        temperature=1.0, seed=0, extra_body={"ignore_eos": True},  # the tiny tuned model may stop at once
        messages=[{"role": "user", "content": "List causes of chronic cough."}],
    )
    chunks = list(stream)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(content_chunks) > 1
    assert chunks.index(content_chunks[1]) < chunks.index(finals[0]), "content must arrive before the finish"
    assert finals[0].model_extra["red_flags"] == [] and "citations" in finals[0].model_extra
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_red_flag_goes_first_in_stream(client) -> None:
    stream = client.chat.completions.create(
        model=MODEL_PLAIN, max_tokens=8, stream=True,
        messages=[{"role": "user", "content": "crushing chest pain radiating to my left arm and sweating"}],
    )
    chunks = list(stream)
    first_text = next(c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content)
    assert first_text.startswith("⚠️ Possible emergency")
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.model_extra["red_flags"] == ["cardiac_chest_pain"]


def test_citations_are_among_retrieved(client) -> None:
    for k in (1, 3):
        reply = client.chat.completions.create(
            model=MODEL_GROUNDED, max_tokens=48, extra_body={"k": k},
            messages=[{"role": "user", "content": "Does aspirin reduce cardiovascular events? Cite sources."}],
        )
        pmids = {c["pmid"] for c in reply.model_extra["citations"]}
        assert 0 < len(pmids) <= k
        from medassist.data.answers.citations import extract_citations

        assert set(extract_citations(reply.choices[0].message.content)) <= pmids
    plain = client.chat.completions.create(model=MODEL_GROUNDED, max_tokens=8, extra_body={"rag": False},
                                           messages=[{"role": "user", "content": "aspirin?"}])
    assert plain.model_extra["citations"] == []


def test_langchain_chat_openai(live_server) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=live_server.base_url, api_key=live_server.api_key, model=MODEL_PLAIN,
                     max_tokens=12, temperature=1.0, max_retries=0, extra_body={"ignore_eos": True})
    answer = llm.invoke("What causes iron deficiency anaemia?")
    assert isinstance(answer.content, str) and "decision support" in answer.content
    pieces = [chunk.content for chunk in llm.stream("What causes iron deficiency anaemia?")]
    assert sum(1 for p in pieces if p) > 1


def test_structured_output_is_decoded_under_the_schema(http) -> None:
    """The local engine decodes JSON answers under their schema (llguidance), so even the few-step
    tiny model's answer is valid at the first attempt; bounded strings keep it within max_tokens."""
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 20}},
              "required": ["answer"], "additionalProperties": False}
    r = http.post("/v1/chat/completions", json={
        "model": MODEL_PLAIN, "max_tokens": 64,
        "messages": [{"role": "user", "content": "Answer in JSON."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    })
    assert r.status_code == 200, r.text
    answer = json.loads(r.json()["choices"][0]["message"]["content"])
    assert set(answer) == {"answer"} and len(answer["answer"]) <= 20
    d = http.post("/v1/diagnose", json={"case": "45-year-old with fever, productive cough and crackles.",
                                        "max_tokens": 320, "max_conditions": 1, "k": 1})
    assert d.status_code == 200, d.text
    body = d.json()
    assert body["attempts"] == 1 and len(body["differential"]) == 1
    assert 0 <= body["differential"][0]["probability"] <= 1
    assert {c for x in body["differential"] for c in x["citations"]} <= {c["pmid"] for c in body["citations"]}


def test_schema_the_grammar_cannot_enforce_is_a_400(http) -> None:
    r = http.post("/v1/chat/completions", json={
        "model": MODEL_PLAIN, "max_tokens": 16, "messages": [{"role": "user", "content": "JSON"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "nonsense"}}},
    })
    assert r.status_code == 400, r.text
    assert "cannot be enforced" in r.json()["error"]["message"]


BAD_INPUT = [
    ("malformed JSON", b'{"model": "medassist", "messages": [', 400, "invalid_json"),
    ("not an object", b"[1, 2]", 400, "invalid_json"),
    ("missing messages", {"model": "medassist"}, 400, "messages"),
    ("empty messages", {"model": "medassist", "messages": []}, 400, "messages"),
    ("wrong role", {"model": "medassist", "messages": [{"role": "doctor", "content": "hi"}]}, 400, "role"),
    ("empty content", {"model": "medassist", "messages": [{"role": "user", "content": "  "}]}, 400, "empty"),
    ("no user turn", {"model": "medassist", "messages": [{"role": "system", "content": "x"}]}, 400, "user"),
    ("oversized body", {"model": "medassist", "messages": [{"role": "user", "content": "a" * 1_100_000}]},
     400, "max_body_bytes"),
    ("too many messages", {"model": "medassist", "messages": [{"role": "user", "content": "hi"}] * 65},
     400, "max_messages"),
    ("max_tokens over cap", {"model": "medassist", "max_tokens": 100_000,
                             "messages": [{"role": "user", "content": "hi"}]}, 400, "max_tokens_cap"),
    ("negative max_tokens", {"model": "medassist", "max_tokens": -1,
                             "messages": [{"role": "user", "content": "hi"}]}, 400, "max_tokens"),
    ("prompt over context", {"model": "medassist-norag", "messages": [{"role": "user", "content": "fever " * 3000}]},
     400, "context"),
    ("unknown model", {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}, 404, "gpt-9"),
    ("temperature out of range", {"model": "medassist", "temperature": 9,
                                  "messages": [{"role": "user", "content": "hi"}]}, 400, "temperature"),
    ("diagnose without case", {}, 400, "case"),
    ("diagnose unknown field", {"case": "fever", "patient_name": "x"}, 400, "patient_name"),
    # fields the gateway does not implement are refused unless "off", never silently dropped
    ("unknown field", {"model": "medassist", "note": "x", "messages": [{"role": "user", "content": "hi"}]},
     400, "note"),
    ("tools", {"model": "medassist", "messages": [{"role": "user", "content": "hi"}],
               "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]}, 400, "tools"),
    ("logprobs", {"model": "medassist", "logprobs": True, "messages": [{"role": "user", "content": "hi"}]},
     400, "logprobs"),
    ("presence penalty", {"model": "medassist", "presence_penalty": 0.5,
                          "messages": [{"role": "user", "content": "hi"}]}, 400, "presence_penalty"),
]


def test_openai_fields_at_their_off_values_are_accepted(http) -> None:
    """What frameworks send by default (no tools, no log-probabilities, zero penalties) is served."""
    r = http.post("/v1/chat/completions", json={
        "model": "medassist-norag", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}], "tools": [],
        "tool_choice": "none", "logprobs": False, "presence_penalty": 0, "frequency_penalty": 0.0, "logit_bias": {}})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("name", "body", "status", "needle"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_openai_error(http, name, body, status, needle) -> None:
    path = "/v1/diagnose" if name.startswith("diagnose") else "/v1/chat/completions"
    kwargs = {"content": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, bytes) \
        else {"json": body}
    r = http.post(path, **kwargs)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code", "request_id"}
    assert error["request_id"] == r.headers["x-request-id"]
    assert needle in error["message"] or needle == error["code"] or needle in (error["param"] or "")


@pytest.mark.parametrize("auth", [None, "Bearer wrong-key", "Basic dGVzdA==", "Bearer"])
def test_missing_or_wrong_key_is_401(live_server, auth) -> None:
    headers = {"Authorization": auth} if auth else {}
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/v1/diagnose")):
        r = httpx.request(method, live_server.url + path, headers=headers, json={}, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_metrics_and_logs_without_message_text(http, live_server) -> None:
    secret = "Zanzibar-Quokka-7781 has a rash"
    r = http.post("/v1/chat/completions", json={"model": MODEL_PLAIN, "max_tokens": 4,
                                                "messages": [{"role": "user", "content": secret}]})
    assert r.status_code == 200
    text = http.get("/metrics").text
    assert 'medassist_requests_total{route="/v1/chat/completions",status="200"}' in text
    assert "medassist_rejected_total" in text and "medassist_citations_removed_total" in text
    assert "Zanzibar" not in live_server.log_path.read_text()

