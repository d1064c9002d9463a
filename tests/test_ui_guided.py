"""The guided consultation page (issue 18) and the differential's attributions (issue 19.1), driven
headless (AppTest) against the real gateway on loopback: the tiny model with its tuned adapter, the
sample knowledge base and index. The browser runs the same consultation in test_ui_browser.py."""

from __future__ import annotations

import httpx
import pytest

from medassist.ui.client import ApiClient, ConsultationState
from medassist.ui.export import consultation_markdown

COMPLAINT = "E_5"  # pain related to the reason for consulting: the commonest chief complaint of the sample patients


@pytest.fixture(scope="module")
def kb_questions(live_server) -> dict[str, dict]:
    listing = httpx.get(f"{live_server.base_url}/diagnose/evidences", timeout=30,
                        headers={"Authorization": f"Bearer {live_server.api_key}"}).json()
    return {q["code"]: q for q in listing["data"]}


def _open_guided(ui_app, server):
    at = ui_app(server.url, server.api_key).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.sidebar.number_input(key="max_tokens").set_value(320).run()  # room for the differential's JSON
    if not at.sidebar.slider(key="k").disabled:  # a gateway without an index turns retrieval off
        at.sidebar.slider(key="k").set_value(1).run()
    at.sidebar.radio(key="mode").set_value("guided").run()
    assert not at.exception, at.exception
    return at


def _start(at, age: int = 59, sex: str = "M", complaint: str = COMPLAINT, conditions: int = 1):
    at.number_input(key="guided_age").set_value(age)
    at.selectbox(key="guided_sex").set_value(sex)
    at.selectbox(key="guided_complaint").set_value(complaint)
    at.number_input(key="guided_max_conditions").set_value(conditions)
    next(b for b in at.button if b.label == "Start consultation").click().run()
    assert not at.exception, at.exception
    guided = at.session_state["consultation"].guided
    assert guided is not None and guided.result is not None, [e.value for e in at.error]
    return guided


def _positive(question, kb_questions) -> object:
    """An answer that adds a finding: yes, the last (non-default) value, the first non-default choice."""
    if question.type == "B":
        return "yes"
    default = kb_questions[question.code]["default"]
    values = [o.value for o in question.options if o.value != default]
    return values[:1] if question.type == "M" else values[-1]


def _answer(at, number: int, kb_questions):
    """Answer the preselected (first) suggestion of round ``number`` positively and record it."""
    guided = at.session_state["consultation"].guided
    code = at.radio(key=f"guided_pick_{number}").value
    question = next(q for q in guided.suggestions() if q.code == code)
    key = f"guided_value_{number}_{code}"
    answer = _positive(question, kb_questions)
    widget = {"B": at.radio, "C": at.selectbox, "M": at.multiselect}[question.type](key=key)
    widget.set_value(answer)
    next(b for b in at.button if b.label == "Record answer").click().run()
    assert not at.exception, at.exception
    return question


def test_kb_questions_are_listed_for_the_page(live_server, kb_questions):
    questions = ApiClient(live_server.url, live_server.api_key).evidences()
    assert {q.code for q in questions} == set(kb_questions)
    complaints = [q for q in questions if q.chief_complaint]
    assert COMPLAINT in {q.code for q in complaints}
    multi = next(q for q in questions if q.type == "M")
    assert multi.options and multi.default in {o.value for o in multi.options}


def test_a_three_question_consultation_updates_the_differential(live_server, ui_app, kb_questions):
    at = _open_guided(ui_app, live_server)
    guided = _start(at)
    first = guided.result
    assert first.next_questions, "the server suggested no question"
    assert first.case.startswith("A 59-year-old man.") and "Chief complaint:" in first.case
    for suggestion in first.next_questions:  # each suggestion says what its answer would separate
        assert suggestion.code not in guided.state.answers and suggestion.separates
    # the page offers the suggestions, the first preselected, each captioned with what it separates
    pick = at.radio(key="guided_pick_0")
    assert pick.value == first.next_questions[0].code
    shown = first.next_questions[:3]
    assert list(pick.options) == [q.question for q in shown]
    for caption, suggestion in zip(pick.proto.captions, shown, strict=True):
        assert caption.startswith("Would separate: ")
        for split in suggestion.separates:
            moved = f"{split.condition}: yes {split.if_yes:.0%}, no {split.if_no:.0%}"
            assert (moved in caption) == (abs(split.if_yes - split.if_no) >= 0.01)
            assert (f"⚠ {moved}" in caption) == (split.red_flag and moved in caption)

    results, cases = [first], [first.case]
    for number in range(3):
        question = _answer(at, number, kb_questions)
        guided = at.session_state["consultation"].guided
        assert len(guided.asked) == number + 1 and guided.asked[-1].code == question.code
        assert question.code in guided.state.answers
        # a new differential for the case with one more finding, and the answered question is not suggested again
        assert guided.result is not results[-1]
        assert guided.result.case != cases[-1] and len(guided.result.case) > len(cases[-1])
        assert all(q.code not in guided.state.answers for q in guided.result.next_questions)
        results.append(guided.result)
        cases.append(guided.result.case)

    history = next(m.value for m in at.markdown if m.value.startswith("**Questions asked:"))
    assert history.startswith("**Questions asked: 3 answered, 0 skipped**")
    lines = next(m.value for m in at.markdown if m.value.startswith("1. ")).splitlines()
    assert [line.split(". ", 1)[0] for line in lines] == ["1", "2", "3"]
    for line, item in zip(lines, guided.asked, strict=True):
        assert item.question in line and f"**{item.answer}**" in line

    # the differential after the last answer, must-not-miss marked where the KB says severity <= 2
    table = at.dataframe[0].value
    assert list(table["condition"]) == [c.condition for c in guided.result.differential]
    for cand, alert in zip(guided.result.differential, table["alert"], strict=True):
        assert bool(alert) == cand.must_not_miss == (cand.severity is not None and cand.severity <= 2)
    # beside it the combined differential (model + knowledge base), with both shares, as the server sent it
    combined = guided.result.combined
    assert combined and all(row.probability > 0.01 for row in combined)
    mixed = at.dataframe[1].value
    assert list(mixed["condition"]) == [row.condition for row in combined]
    assert list(mixed["knowledge_base"]) == [f"{row.knowledge_base:.0%}" for row in combined]
    assert any(m.value == "Model + knowledge base" for m in at.subheader)

    # the exports carry the questions and answers, in order
    markdown = consultation_markdown(at.session_state["consultation"])
    assert "Questions asked: 3 answered, 0 skipped" in markdown
    for number, item in enumerate(guided.asked, 1):
        assert f"{number}. {item.question} **{item.answer}**" in markdown
    assert "Questions asked: 3 answered, 0 skipped" in at.sidebar.code[0].value  # WhatsApp text


def test_attribution_bars_and_sentence_per_condition(live_server, ui_app):
    at = _open_guided(ui_app, live_server)
    guided = _start(at)
    differential = guided.result.differential
    assert differential and all(c.explanation is not None for c in differential)
    charts = at.get("vega_lite_chart")  # AppTest has no wrapper for charts: the raw element
    drawn = [c for c in differential if c.explanation.supporting or c.explanation.opposing]
    assert len(charts) == len(drawn) >= 1
    for chart, cand in zip(charts, drawn, strict=True):
        sent = chart.proto.SerializeToString()  # the spec, and the bars' rows as an Arrow table
        for finding in cand.explanation.supporting + cand.explanation.opposing:
            assert finding.label.encode() in sent
        assert bool(cand.explanation.supporting) == (b"raises" in sent)
        assert bool(cand.explanation.opposing) == (b"lowers" in sent)
    sentences = [m.value for m in at.markdown]
    for cand in differential:
        if cand.explanation.sentence:
            assert f"_{cand.explanation.sentence}_" in sentences
    markdown = consultation_markdown(at.session_state["consultation"])
    for cand in drawn:
        weights = cand.explanation.supporting or cand.explanation.opposing
        assert f"{weights[0].label} {weights[0].weight:+.2f}".replace("-", "\u2212") in markdown


def test_skip_is_not_suggested_again(live_server, ui_app):
    at = _open_guided(ui_app, live_server)
    guided = _start(at)
    skipped = at.radio(key="guided_pick_0").value
    next(b for b in at.button if b.label == "Skip").click().run()
    assert not at.exception, at.exception
    guided = at.session_state["consultation"].guided
    assert [a.skipped for a in guided.asked] == [True] and guided.asked[0].code == skipped
    assert skipped not in guided.state.answers and skipped not in [q.code for q in guided.suggestions()]
    assert at.radio(key="guided_pick_1").value != skipped
    assert any(m.value.startswith("**Questions asked: 0 answered, 1 skipped**") for m in at.markdown)
    for _ in range(2):  # every suggestion skipped: the server is asked again, with what was skipped
        next(b for b in at.button if b.label == "Skip").click().run()
        assert not at.exception, at.exception
    guided = at.session_state["consultation"].guided
    assert guided.state.skipped == sorted(a.code for a in guided.asked)
    fresh = [q.code for q in guided.suggestions()]
    assert len(fresh) == 3 and not set(fresh) & guided.skipped  # the server left the skipped ones out
    assert any(m.value.startswith("**Questions asked: 0 answered, 3 skipped**") for m in at.markdown)


def test_explain_off_asks_for_no_attribution(live_server):
    """What the checkbox sends: without ``attribution`` the rows come back unexplained."""
    client = ApiClient(live_server.url, live_server.api_key, timeout=120)
    result = client.diagnose(model="medassist", consultation=ConsultationState(COMPLAINT, 40, "F"),
                             next_questions=2, rag=False, max_conditions=1, max_tokens=320)
    assert result.differential and all(c.explanation is None for c in result.differential)
    assert len(result.next_questions) == 2


def test_an_engine_that_cannot_score_gets_the_differential_unexplained(live_server, ui_app, tmp_path):
    """A second gateway forwarding to the first (``--engine upstream``, no tokenizer) cannot score
    conditions and answers ``attribution: true`` with a 501: the page asks again without it and says
    the differential is unexplained."""
    from tests.fixtures.serve import gateway

    args = ["--engine", "upstream", "--upstream", live_server.base_url, "--upstream_model", "medassist-norag",
            "--upstream_api_key", live_server.api_key, "--model", "upstream"]
    with gateway(args, tmp_path / "upstream.log", api_key=None) as front:
        at = _open_guided(ui_app, front)
        guided = _start(at)
    assert guided.result.differential and all(c.explanation is None for c in guided.result.differential)
    assert guided.result.next_questions
    assert at.info[-1].value.startswith("This server's engine cannot score conditions")
    assert not at.get("vega_lite_chart")
