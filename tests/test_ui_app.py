"""The Streamlit page driven headless (AppTest) against the real medassist gateway on loopback."""

from __future__ import annotations

import pickle
import socket
import sqlite3
import threading

import httpx
import pytest

from medassist.ports import free_port
from medassist.ui.export import consultation_markdown
from medassist.ui.session import Turn


@pytest.fixture(scope="module")
def grounded(live_server) -> bool:
    """Whether the live gateway has a RAG index (then answers must carry sources)."""
    return bool(httpx.get(f"{live_server.url}/health", timeout=10).json()["index"])


def _open(ui_app, server, max_tokens: int = 24):
    """The page against ``server``, with short answers (the tiny model on a shared CPU is slow)."""
    at = ui_app(server.url, server.api_key).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.sidebar.number_input(key="max_tokens").set_value(max_tokens).run()
    return at


def _ask(at, text: str):
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at.session_state["consultation"]


def test_chat_streams_a_grounded_answer_with_sources(live_server, ui_app, grounded):
    at = _open(ui_app, live_server)
    assert at.sidebar.selectbox(key="model").options == ["medassist", "medassist-norag"]
    consultation = _ask(at, "What is the first-line treatment of community-acquired pneumonia?")
    question, answer = consultation.turns
    assert question.role == "user" and answer.role == "assistant" and answer.content.strip()
    assistant = at.chat_message[-1]
    assert assistant.markdown[0].value == answer.content
    assert "Decision support" in answer.content or "decision support" in answer.content  # server's notice
    shown = " ".join(m.value for m in assistant.markdown)
    footer = at.sidebar.caption[-1].value
    assert footer.startswith("Model medassist") and "engine local" in footer
    if grounded:
        assert answer.citations, "the gateway has an index but the answer carries no citations"
        assert f"({len(answer.citations)})" in assistant.expander[0].label
        for citation in answer.citations:
            assert f"https://pubmed.ncbi.nlm.nih.gov/{citation.pmid}/" in shown
        assert "retrieval on, k=5" in footer
    else:  # without an index the page turns retrieval off and says the answer is not grounded
        assert at.sidebar.toggle(key="rag").disabled and not answer.rag
        assert "Retrieval is off: this answer is not grounded in sources." in [c.value for c in assistant.caption]
        assert "retrieval off" in footer

    _ask(at, "And in a penicillin-allergic patient?")
    assert len(at.session_state["consultation"].turns) == 4 and len(at.chat_message) == 4
    at.sidebar.button[0].click().run()  # new consultation
    assert at.session_state["consultation"].empty and not at.chat_message


def test_red_flag_banner_above_the_answer(live_server, ui_app):
    at = _open(ui_app, live_server)
    answer = _ask(at, "Crushing chest pain radiating to the left arm with sweating for 30 minutes").turns[-1]
    assert answer.red_flags
    banner = at.chat_message[-1].error[0]
    assert banner.value.startswith("**Red flags: possible emergency**")
    in_order = [id(node) for node in at.chat_message[-1]]  # depth-first, top to bottom
    assert in_order.index(id(banner)) < in_order.index(id(at.chat_message[-1].markdown[0]))


def test_feedback_lands_in_sqlite_scrubbed(live_server, ui_app, feedback_db):
    at = _open(ui_app, live_server)
    answer = _ask(at, "Fever and productive cough for three days, what tests?").turns[-1]
    at.feedback(key=f"rating_{answer.id}").set_value(0)
    at.text_input(key=f"comment_{answer.id}").input("Too vague; call me at 555-123-4567")
    at.chat_message[-1].button[0].click().run()
    assert "Thank you, your feedback was saved." in [c.value for c in at.chat_message[-1].caption]
    rows = sqlite3.connect(feedback_db).execute(
        "SELECT answer_id, rating, comment, question, model, rag FROM feedback").fetchall()
    assert len(rows) == 1
    answer_id, rating, comment, question, model, rag = rows[0]
    assert (answer_id, rating, model, rag) == (answer.id, 0, "medassist", int(answer.rag))
    assert comment.startswith("Too vague") and "555-123-4567" not in comment
    assert question == "Fever and productive cough for three days, what tests?"


def test_exports_markdown_and_whatsapp(live_server, ui_app):
    at = _open(ui_app, live_server)
    assert at.sidebar.caption[0].value == "Nothing to export yet."
    consultation = _ask(at, "Headache and neck stiffness: what should I rule out?")
    assert [b.label for b in at.sidebar.download_button] == ["Download Markdown", "Download WhatsApp text"]
    whatsapp = at.sidebar.code[0].value
    assert whatsapp.startswith(f"*medassist: Consultation {consultation.id}*")
    assert "*Clinician*" in whatsapp and "*medassist*" in whatsapp
    assert "\n_" in whatsapp and "**" not in whatsapp
    markdown = consultation_markdown(consultation)
    assert "## Clinician" in markdown and "Headache and neck stiffness" in markdown


def test_exports_are_scrubbed_by_default_and_raw_on_request(live_server, ui_app):
    at = _open(ui_app, live_server)
    _ask(at, "Mrs Jane Roe, call 555-123-4567: headache and neck stiffness?")
    whatsapp = at.sidebar.code[0].value
    assert "Mrs [NAME], call [PHONE]: headache and neck stiffness?" in whatsapp
    assert "Jane Roe" not in whatsapp and "555-123-4567" not in whatsapp
    assert any("replaced by placeholders" in c.value for c in at.sidebar.caption)
    at.sidebar.checkbox(key="export_raw").check().run()
    assert "Mrs Jane Roe, call 555-123-4567" in at.sidebar.code[0].value
    assert "identifiers included" in at.sidebar.warning[0].value


def test_switch_to_chinese(live_server, ui_app):
    at = _open(ui_app, live_server)
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert at.info[0].value.startswith("仅为决策支持")
    assert at.chat_input[0].placeholder == "描述患者情况或提出临床问题"
    assert at.sidebar.button[0].label == "新会诊"
    answer = _ask(at, "胸痛伴大汗，疼痛放射到左臂").turns[-1]
    assert answer.red_flags
    assert at.chat_message[-1].error[0].value.startswith("**危险信号：可能为急症**")


def test_case_form_calls_diagnose(live_server, ui_app):
    """The case form's differential as a table, one expandable row per condition: the local engine
    decodes the answer under the differential's schema, so even the tiny model's answer is one
    (tests/test_serve_vllm.py drives the same form against vLLM's structured outputs)."""
    at = _open(ui_app, live_server, max_tokens=320)
    at.sidebar.slider(key="k").set_value(1).run()
    at.sidebar.radio(key="mode").set_value("case").run()
    at.text_input(key="case_complaint").input("fever and hypotension")
    at.number_input(key="case_age").set_value(70)
    at.selectbox(key="case_sex").set_value("female")
    at.number_input(key="case_temp").set_value(39.2)
    at.text_input(key="case_bp").input("85/50")
    at.number_input(key="case_max_conditions").set_value(1)
    at.form_submit_button[0].click().run()
    assert not at.exception
    diagnosis = at.session_state["consultation"].diagnosis
    assert diagnosis is not None, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert len(table) == 1 and list(table["condition"]) == [c.condition for c in diagnosis.differential]
    for expander, (i, c) in zip(at.expander, enumerate(diagnosis.differential, 1), strict=False):
        assert expander.label.startswith(f"{i}. {c.condition} ({c.probability:.0%})")
    # "Explain each condition" is on by default: the findings of the typed case, as bars and in words
    explained = diagnosis.differential[0].explanation
    assert explained is not None
    labels = {f.label for f in explained.supporting + explained.opposing}
    assert labels <= {"age 70", "female sex", "fever and hypotension", "temperature 39.2 °C",
                      "blood pressure 85/50 mmHg"}, labels
    assert len(at.get("vega_lite_chart")) == (1 if labels else 0)


def test_api_down_shows_the_url(ui_app):
    url = f"http://127.0.0.1:{free_port()}"
    at = ui_app(url).run()
    assert not at.exception
    assert at.error[0].value.startswith(f"Cannot reach the medassist API at {url}.")
    assert at.chat_input[0].disabled


def test_wrong_api_key_shows_401(live_server, ui_app):
    at = ui_app(live_server.url, "not-the-key").run()
    assert not at.exception
    assert at.error[0].value.startswith(f"The API at {live_server.url} refused the request (401)")


def test_silent_server_shows_timeout(ui_app):
    """A real socket that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted = []
        threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        at = ui_app(url, timeout=1.0).run()
    assert not at.exception
    assert at.error[0].value.startswith(f"The API at {url} did not answer within 1 seconds.")


def _everything_on_the_page(at) -> bytes:
    """All the page sends the browser (every element's and block's message) and all its session holds."""
    sent = b"".join(node.proto.SerializeToString() for node in at._tree if getattr(node, "proto", None) is not None)
    return sent + pickle.dumps(at.session_state.to_dict())


def test_the_api_key_never_reaches_the_page_and_the_url_is_not_a_setting(live_server, ui_app):
    """MEDASSIST_API_KEY is the gateway's key: the page's own requests carry it (the answer comes
    back), yet neither the elements sent to the browser nor the session hold it, in either mode.
    No widget holds the API URL either, so a visitor cannot point this server (and its key) elsewhere."""
    at = _open(ui_app, live_server)
    key = live_server.api_key.encode()
    _ask(at, "Fever and cough for two days: what should I check?")
    assert at.session_state["consultation"].turns[-1].content
    assert key not in _everything_on_the_page(at)
    at.sidebar.radio(key="mode").set_value("case").run()
    assert key not in _everything_on_the_page(at)
    values = [w.value for w in [*at.text_input, *at.text_area]]
    assert live_server.url not in values and live_server.api_key not in values
    assert not {"api_url", "api_key"} & set(at.session_state.keys())
    assert at.sidebar.selectbox(key="model").options == ["medassist", "medassist-norag"]  # still served


def test_a_40_exchange_consultation_is_trimmed_and_answered(live_server, ui_app):
    """40 exchanges already in the session (as 40 answered questions leave them, with answers the
    length a real model writes): sent whole, the 81 messages exceed the gateway's limits.max_messages
    (64) and its 1024-token context. The page sends the first exchange and the latest ones that fit,
    is answered, and says under the answer that earlier exchanges were left out."""
    at = _open(ui_app, live_server)
    consultation = at.session_state["consultation"]
    for i in range(1, 41):
        consultation.turns += [
            Turn("user", f"Exchange {i}: the 58-year-old patient now also reports symptom {i}; what changes?"),
            Turn("assistant", f"With symptom {i} the differential shifts. " + "Consider the tests above. " * 12),
        ]
    whole = [*consultation.api_messages(), {"role": "user", "content": "What is the most likely diagnosis now?"}]
    refused = httpx.post(f"{live_server.base_url}/chat/completions", timeout=60,
                         headers={"Authorization": f"Bearer {live_server.api_key}"},
                         json={"model": "medassist", "messages": whole, "max_tokens": 8})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "max_messages"

    at.run()
    turns = _ask(at, "What is the most likely diagnosis now?").turns
    assert not at.error, [e.value for e in at.error]
    assert len(turns) == 82 and turns[-1].role == "assistant" and turns[-1].content
    assert 0 < turns[-1].omitted < 40
    notice = f"{turns[-1].omitted} earlier exchange(s) in between were not sent to the model."
    assert any(notice in c.value for c in at.chat_message[-1].caption)
    at.run()  # the notice stays with that answer
    assert any(notice in c.value for c in at.chat_message[-1].caption)
