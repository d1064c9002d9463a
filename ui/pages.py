"""The chat and free-text case views plus the per-answer feedback and the export panel (the guided
consultation is ``guided.py``)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from medassist.errors import MedassistError
from medassist.ui import history, render
from medassist.ui.client import ATTRIBUTION_UNAVAILABLE, ApiError, DiagnoseResult
from medassist.ui.export import consultation_markdown, consultation_whatsapp
from medassist.ui.feedback import FeedbackRow, FeedbackStore
from medassist.ui.i18n import t
from medassist.ui.session import Case, Consultation, Turn
from medassist.ui.sidebar import Settings


def feedback_widget(turn: Turn, consultation: Consultation, settings: Settings, store: FeedbackStore) -> None:
    """Thumbs up/down and an optional comment under an answer, saved (PHI-scrubbed) to SQLite."""
    lang = settings.lang
    done_key = f"feedback_saved_{turn.id}"
    if st.session_state.get(done_key):
        st.caption(t(lang, "feedback_thanks"))
        return
    with st.form(key=f"feedback_{turn.id}", border=False):
        rating = st.feedback("thumbs", key=f"rating_{turn.id}")
        comment = st.text_input(t(lang, "feedback_comment"), key=f"comment_{turn.id}")
        if not st.form_submit_button(t(lang, "feedback_send")):
            return
    if rating is None:
        st.warning(t(lang, "feedback_need_rating"))
        return
    try:
        store.add(FeedbackRow(
            consultation_id=consultation.id, answer_id=turn.id, rating=int(rating), comment=comment,
            question=consultation.question_for(turn.id), answer=turn.content, model=turn.model or "",
            rag=turn.rag, k=turn.k, pmids=[c.pmid for c in turn.citations], lang=lang,
        ))
    except MedassistError as err:  # e.g. the configured database path is not writable
        st.error(str(err), icon=":material/error:")
        return
    st.session_state[done_key] = True
    st.caption(t(lang, "feedback_thanks"))


def _ask(prompt: str, consultation: Consultation, settings: Settings, store: FeedbackStore) -> None:
    """Send the question with the history that fits, stream the answer in place, then keep both turns."""
    lang = settings.lang
    question = Turn("user", prompt)
    with st.chat_message("user"):
        render.user_text(prompt)
    with st.chat_message("assistant"):
        banner = st.empty()  # red flags arrive with the last chunk but belong above the answer
        try:
            stream, omitted = history.ask(
                settings.client, consultation.api_messages(), prompt, settings.history,
                model=settings.model or "", rag=settings.rag, k=settings.k, temperature=settings.temperature,
                max_tokens=settings.max_tokens,
            )
            text = render.streamed_answer(stream)
        except ApiError as err:
            render.api_error(err, lang, settings.client.timeout)
            return
        answer = Turn("assistant", text, stream.citations, stream.red_flags, stream.model or settings.model,
                      settings.rag, settings.k, omitted=omitted)
        consultation.turns += [question, answer]
        with banner.container():
            render.red_flag_banner(answer.red_flags, lang)
        render.history_notice(answer.omitted, lang)
        render.sources(answer.citations, answer.rag, lang)
        feedback_widget(answer, consultation, settings, store)


def chat(consultation: Consultation, settings: Settings, store: FeedbackStore) -> None:
    lang = settings.lang
    for turn in consultation.turns:
        with st.chat_message(turn.role):
            if turn.role == "user":
                render.user_text(turn.content)
            else:
                render.answer_body(turn, lang)
                feedback_widget(turn, consultation, settings, store)
    prompt = st.chat_input(t(lang, "chat_placeholder"), disabled=settings.model is None)
    if prompt and prompt.strip():
        _ask(prompt.strip(), consultation, settings, store)


def diagnose(settings: Settings, case: str | None = None, **params: Any) -> DiagnoseResult | None:
    """``/v1/diagnose`` with the sidebar's settings, under a spinner; a failure is explained in the page
    (None returned). An engine that cannot score (vLLM with a LoRA adapter, an upstream without
    /completions: the gateway's 501 ``attribution_unavailable``) gets the request again without
    attribution, and the page says the differential is unexplained."""
    lang = settings.lang
    common = {"model": settings.model or "", "rag": settings.rag, "k": settings.k, "max_tokens": settings.max_tokens}
    try:
        with st.spinner(t(lang, "thinking")):
            try:
                return settings.client.diagnose(case, **common, **params)
            except ApiError as err:
                if err.code != ATTRIBUTION_UNAVAILABLE:
                    raise
                st.info(t(lang, "explain_unavailable"), icon=":material/info:")
                return settings.client.diagnose(case, **common, **{**params, "attribution": False})
    except ApiError as err:
        render.api_error(err, lang, settings.client.timeout)
        return None


def case(consultation: Consultation, settings: Settings) -> None:
    lang = settings.lang
    with st.form("case"):
        st.subheader(t(lang, "case_form"))
        left, right = st.columns(2)
        age = left.number_input(t(lang, "age"), min_value=0, max_value=120, value=None, step=1, key="case_age")
        sex = right.selectbox(t(lang, "sex"), ["female", "male", "other"], index=None,
                              format_func=lambda s: t(lang, f"sex_{s}"), key="case_sex")
        complaint = st.text_input(t(lang, "chief_complaint"), key="case_complaint")
        symptoms = st.text_area(t(lang, "symptoms"), height=80, key="case_symptoms")
        history = st.text_area(t(lang, "history"), height=80, key="case_history")
        st.markdown(f"**{t(lang, 'vitals')}**")
        cols = st.columns(5)
        temp = cols[0].number_input(t(lang, "temp_c"), 30.0, 45.0, value=None, step=0.1, format="%.1f", key="case_temp")
        hr = cols[1].number_input(t(lang, "heart_rate"), 0, 300, value=None, key="case_hr")
        bp = cols[2].text_input(t(lang, "blood_pressure"), placeholder="120/80", key="case_bp")
        rr = cols[3].number_input(t(lang, "resp_rate"), 0, 80, value=None, key="case_rr")
        spo2 = cols[4].number_input(t(lang, "spo2"), 0, 100, value=None, key="case_spo2")
        # fewer conditions, shorter answer: each may take up to 260 characters (condition + rationale)
        count_col, explain_col = st.columns([1, 4])
        max_conditions = count_col.number_input(t(lang, "max_conditions"), 1, 10, value=5, key="case_max_conditions")
        explain = explain_col.checkbox(t(lang, "explain"), value=True, key="case_explain", help=t(lang, "explain_help"))
        submitted = st.form_submit_button(t(lang, "diagnose"), disabled=settings.model is None)
    if submitted:
        if not complaint.strip():
            st.warning(t(lang, "case_missing"))
        else:
            text = Case(complaint, age, sex, symptoms, history, temp, hr, bp, rr, spo2).text
            diagnosis = diagnose(settings, text, max_conditions=max_conditions, attribution=explain)
            if diagnosis is not None:
                consultation.diagnosis, consultation.case_text = diagnosis, text
    if consultation.diagnosis is not None:
        render.differential(consultation.diagnosis, lang, expand_first=True)


def export_panel(consultation: Consultation, lang: str) -> None:
    """Download the consultation as Markdown or WhatsApp text; the WhatsApp text is also shown to copy.
    Identifiers are scrubbed unless the clinician ticks the raw export, which shows a warning."""
    sb = st.sidebar
    sb.subheader(t(lang, "export"))
    if consultation.empty:
        sb.caption(t(lang, "export_empty"))
        return
    raw = sb.checkbox(t(lang, "export_raw"), value=False, key="export_raw")
    if raw:
        sb.warning(t(lang, "export_raw_warning"), icon=":material/warning:")
    else:
        sb.caption(t(lang, "export_scrubbed"))
    whatsapp = consultation_whatsapp(consultation, lang, scrub_phi=not raw)
    sb.download_button(t(lang, "export_markdown"), consultation_markdown(consultation, lang, scrub_phi=not raw),
                       file_name=f"medassist-{consultation.id}.md", mime="text/markdown", on_click="ignore")
    sb.download_button(t(lang, "export_whatsapp"), whatsapp, file_name=f"medassist-{consultation.id}.txt",
                       mime="text/plain", on_click="ignore")
    with sb.expander(t(lang, "whatsapp_preview")):
        st.code(whatsapp, language=None, wrap_lines=True)
