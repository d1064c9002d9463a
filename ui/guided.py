"""The guided consultation view (issue 18): start from age, sex and the chief complaint, then one
suggested question at a time, the differential and red flags redrawn after every answer.

The server holds the knowledge base and the question policy; the page only keeps the partial case
in the knowledge base's codes (``ConsultationState``) and the questions asked (``Guided``), and
sends the whole partial case with every request, so the server keeps no consultation state. Each
submitted answer (or skip) updates the session and reruns the script, so the differential drawn
above the question is always the one after the latest answer.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from medassist.data.ddxplus import finding_phrase
from medassist.ui import pages, render
from medassist.ui.client import ApiError, ConsultationState, NextQuestion, Question
from medassist.ui.export import guided_start_line
from medassist.ui.i18n import t
from medassist.ui.session import Asked, Consultation, Guided
from medassist.ui.sidebar import Settings

SHOWN = 3  # suggestions offered at a time; the first is preselected
SEXES = {"F": "sex_female", "M": "sex_male"}  # the knowledge base's sexes


@st.cache_data(ttl=300, show_spinner=False)
def _questions(_settings_client: Any, client_id: int) -> list[Question]:
    """The server's questions, fetched once per five minutes per client (they change only with the
    server's knowledge base)."""
    return _settings_client.evidences()


def complaint_label(question: Question) -> str:
    """A chief complaint as a finding ("Fever (either felt or measured...)", "Sweating more than
    usual"), not as the question the knowledge base asks about it; a question that does not turn
    into a finding stays a question."""
    phrase = finding_phrase(question.question)
    if phrase.endswith("? yes"):
        return question.question
    for lead in ("a ", "an ", "is ", "has been ", "has "):
        phrase = phrase.removeprefix(lead)
    return phrase[:1].upper() + phrase[1:]


def value_label(label: str, lang: str) -> str:
    """The knowledge base writes some answers as "Y"/"N"."""
    return {"Y": t(lang, "answer_yes"), "N": t(lang, "answer_no")}.get(label, label)


def _leading(guided: Guided) -> str:
    if guided.result is None or not guided.result.differential:
        return ""
    return guided.result.differential[0].condition


def _consult(guided: Guided, settings: Settings, answers: dict[str, list[Any]]) -> bool:
    """Ask ``/v1/diagnose`` about the partial case with ``answers``; on success keep both in ``guided``."""
    state = ConsultationState(guided.state.chief_complaint, guided.state.age, guided.state.sex, answers,
                              sorted(guided.skipped - answers.keys()))
    result = pages.diagnose(settings, consultation=state, next_questions=SHOWN, language="en",
                            attribution=bool(st.session_state.get("guided_explain", True)),
                            max_conditions=int(st.session_state.get("guided_max_conditions", 5)))
    if result is None:
        return False
    guided.state, guided.result = state, result
    return True


def _start_form(consultation: Consultation, settings: Settings, questions: list[Question]) -> None:
    lang = settings.lang
    complaints = {q.code: q for q in questions if q.chief_complaint}
    with st.form("guided_start"):
        st.subheader(t(lang, "guided_form"))
        st.caption(t(lang, "guided_intro"))
        age_col, sex_col, complaint_col = st.columns([1, 1, 3])
        age = age_col.number_input(t(lang, "age"), min_value=0, max_value=120, value=None, step=1, key="guided_age")
        sex = sex_col.selectbox(t(lang, "sex"), list(SEXES), index=None, format_func=lambda s: t(lang, SEXES[s]),
                                key="guided_sex")
        complaint = complaint_col.selectbox(
            t(lang, "guided_complaint"), sorted(complaints, key=lambda c: complaint_label(complaints[c])),
            index=None, format_func=lambda c: complaint_label(complaints[c]), key="guided_complaint")
        count_col, explain_col = st.columns([1, 4])
        count_col.number_input(t(lang, "max_conditions"), 1, 10, value=5, key="guided_max_conditions")
        explain_col.checkbox(t(lang, "explain"), value=True, key="guided_explain", help=t(lang, "explain_help"))
        submitted = st.form_submit_button(t(lang, "guided_start"), disabled=settings.model is None, type="primary")
    if not submitted:
        return
    if complaint is None:
        st.warning(t(lang, "guided_missing"))
        return
    guided = Guided(ConsultationState(complaint, int(age) if age is not None else None, sex),
                    complaint_label(complaints[complaint]))
    if _consult(guided, settings, {}):
        consultation.guided = guided


def _answer_widget(question: NextQuestion, default: Any, lang: str, key: str) -> list[Any] | None:
    """The widget for the question's type; returns the answer in the KB's codes, None if none given.
    A multi-choice question left empty is answered with its ``default`` ("nowhere", "none"): the
    contract's "no"."""
    if question.type == "B" or not question.options and question.type != "C":
        choice = st.radio(t(lang, "answer"), ["yes", "no"], index=None, horizontal=True, key=key,
                          format_func=lambda v: t(lang, f"answer_{v}"))
        return None if choice is None else [choice == "yes"]
    if question.type == "M":
        picked = st.multiselect(t(lang, "answer"), [o.value for o in question.options if o.value != default],
                                key=key, format_func=lambda v: value_label(_label(question, v), lang),
                                placeholder=t(lang, "answer_none"))
        return picked or [default]
    if question.options:
        value = st.selectbox(t(lang, "answer"), [o.value for o in question.options], index=None, key=key,
                             format_func=lambda v: value_label(_label(question, v), lang))
        return None if value is None else [value]
    number = st.number_input(t(lang, "answer"), value=None, key=key)
    return None if number is None else [number]


def _label(question: NextQuestion, value: Any) -> str:
    return next((o.label for o in question.options if o.value == value), str(value))


def answer_words(question: NextQuestion, values: list[Any], default: Any, lang: str) -> str:
    if question.type == "B":
        return t(lang, "answer_yes" if values == [True] else "answer_no")
    if question.type == "M" and values == [default]:
        return t(lang, "answer_none")
    return ", ".join(value_label(_label(question, v), lang) for v in values)


def split_caption(question: NextQuestion, lang: str) -> str:
    """What the answer would separate: "⚠ Pulmonary embolism: yes 62%, no 9% · Asthma: ..." (a red-flag
    condition marked; a condition the answer leaves where it is left out)."""
    parts = [f"{'⚠ ' if s.red_flag else ''}{s.condition}: {t(lang, 'answer_yes')} {s.if_yes:.0%}, "
             f"{t(lang, 'answer_no')} {s.if_no:.0%}" for s in question.separates if abs(s.if_yes - s.if_no) >= 0.01]
    return " · ".join(parts)


def _next_question(guided: Guided, settings: Settings, kb: dict[str, Question]) -> None:
    """The suggested questions (the first preselected), what each would separate, the answer form."""
    lang = settings.lang
    st.subheader(t(lang, "next_questions"))
    suggestions = guided.suggestions()[:SHOWN]
    if not suggestions:
        st.info(t(lang, "no_more_questions"), icon=":material/check_circle:")
        return
    by_code = {q.code: q for q in suggestions}
    code = st.radio(t(lang, "question_pick"), list(by_code), key=f"guided_pick_{len(guided.asked)}",
                    format_func=lambda c: by_code[c].question,
                    captions=[f"{t(lang, 'separates')}: {split_caption(q, lang)}" for q in suggestions])
    question = by_code[code]
    # keyed per round: the browser test finds this round's form, not the last round's still drawn during the rerun
    with st.container(key=f"guided_question_{len(guided.asked)}"), st.form(f"guided_answer_{len(guided.asked)}"):
        st.markdown(f"**{question.question}**")
        default = kb[question.code].default if question.code in kb else None
        values = _answer_widget(question, default, lang, f"guided_value_{len(guided.asked)}_{question.code}")
        record_col, skip_col = st.columns(2)
        record = record_col.form_submit_button(t(lang, "record_answer"), type="primary", width="stretch",
                                               disabled=settings.model is None)
        skip = skip_col.form_submit_button(t(lang, "skip"), width="stretch")
    if skip:
        guided.asked.append(Asked(question.code, question.question, None))
        if not guided.suggestions():  # every suggestion skipped: ask the server for more
            _consult(guided, settings, guided.state.answers)
        st.rerun()
    if record:
        if values is None:
            st.warning(t(lang, "need_answer"))
            return
        before = _leading(guided)
        if _consult(guided, settings, {**guided.state.answers, question.code: values}):
            words = answer_words(question, values, default, lang)
            guided.asked.append(Asked(question.code, question.question, values, words, before, _leading(guided)))
            st.rerun()


def page(consultation: Consultation, settings: Settings) -> None:
    lang = settings.lang
    try:
        questions = _questions(settings.client, id(settings.client))
    except ApiError as err:
        st.warning(t(lang, "guided_unavailable", detail=err.detail or err.kind), icon=":material/warning:")
        return
    _start_form(consultation, settings, questions)
    guided = consultation.guided
    if guided is None or guided.result is None:
        return
    st.markdown(f"**{t(lang, 'guided_form')}:** {guided_start_line(guided, lang)}")
    left, right = st.columns([3, 2], gap="large")
    with left:
        render.differential(guided.result, lang, expand_first=True)
        if guided.result.combined:
            with st.container(key="guided_combined"):  # the browser test finds it by this key
                render.combined_differential(guided.result.combined, lang)
        with st.expander(t(lang, "case_read"), expanded=True):
            st.text(guided.result.case)
    with right:
        _next_question(guided, settings, {q.code: q for q in questions})
        st.divider()
        with st.container(key="guided_history"):  # the browser test finds it by this key
            render.asked_history(guided.asked, lang)
