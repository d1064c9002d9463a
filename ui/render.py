"""Leaf renderers of the page: notice, red-flag banner, answers, sources, differential, errors.

They only draw what they are given, so the page modules decide what to show and when. Text
that comes from the model or the index goes through ``inert`` first (no remote images, no HTML).
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from medassist.ui.client import ApiError, DiagnoseResult, Reference
from medassist.ui.i18n import t
from medassist.ui.inert import inert
from medassist.ui.session import Turn


def notice(lang: str) -> None:
    st.info(t(lang, "notice"), icon=":material/info:")


def red_flag_banner(flags: list[str], lang: str) -> None:
    """Above the answer; the server's flag codes (``cardiac_chest_pain``) are shown as words."""
    if flags:
        names = ", ".join(flag.replace("_", " ") for flag in flags)
        body = t(lang, "red_flag_body", flags=names)
        st.error(f"**{t(lang, 'red_flag_title')}**  \n{body}", icon=":material/emergency:")


def api_error(err: ApiError, lang: str, timeout: float) -> None:
    """The in-page message for a failed call: what happened, at which URL, what to do."""
    st.error(t(lang, f"err_{err.kind}", url=err.url, detail=err.detail or "-",
               retry_after=err.retry_after or "a few", timeout=timeout), icon=":material/error:")


def citation_line(citation: Reference) -> str:
    year = f" ({citation.year})" if citation.year else ""
    return inert(f"**[PMID {citation.pmid}]({citation.url})** {citation.title}{year}".rstrip())


def citation_detail(citation: Reference) -> None:
    """One source in full: its line, then its snippet."""
    st.markdown(citation_line(citation))
    if citation.snippet:
        st.caption(inert(citation.snippet))


def sources(citations: list[Reference], rag: bool, lang: str) -> None:
    """Under an answer: the cited PMIDs as links at a glance, titles and snippets on expanding.

    Says so plainly when retrieval was off or came back empty."""
    if not rag:
        st.caption(t(lang, "retrieval_off"))
        return
    if not citations:
        st.caption(t(lang, "no_source"))
        return
    links = " · ".join(f"[PMID {c.pmid}]({c.url})" for c in citations)
    st.markdown(inert(f"**{t(lang, 'sources')}:** {links}"))
    with st.expander(f"{t(lang, 'sources')} ({len(citations)})"):
        for citation in citations:
            citation_detail(citation)


def user_text(text: str) -> None:
    st.markdown(inert(text))


def streamed_answer(chunks: Iterable[str]) -> str:
    """Draw the answer while it streams and return it whole. The text so far is made inert as a
    whole at every chunk, since a ``![`` split across two chunks would escape a per-chunk filter."""
    box = st.empty()
    text = ""
    for chunk in chunks:
        text += chunk
        box.markdown(inert(text))
    text = text.strip()
    box.markdown(inert(text))
    return text


def history_notice(omitted: int, lang: str) -> None:
    """Under an answer given without part of a long consultation (ui/history.py)."""
    if omitted:
        st.caption(t(lang, "history_trimmed", omitted=omitted), help=t(lang, "history_trimmed_help"))


def answer_body(turn: Turn, lang: str) -> None:
    """An assistant turn already received: banner above, text, what history it saw, sources below."""
    red_flag_banner(turn.red_flags, lang)
    st.markdown(inert(turn.content))
    history_notice(turn.omitted, lang)
    sources(turn.citations, turn.rag, lang)


def differential(diagnosis: DiagnoseResult, lang: str) -> None:
    """The ranked differential as a table with probability bars, then one expander per row."""
    red_flag_banner(diagnosis.red_flags, lang)
    st.subheader(t(lang, "differential"))
    rows = [{"rank": i, "condition": c.condition, "probability": c.probability, "sources": len(c.citations)}
            for i, c in enumerate(diagnosis.differential, 1)]
    st.dataframe(
        rows, hide_index=True, width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn(t(lang, "rank"), width="small"),
            "condition": st.column_config.TextColumn(t(lang, "condition")),
            "probability": st.column_config.ProgressColumn(
                t(lang, "probability"), min_value=0.0, max_value=1.0, format="percent"),
            "sources": st.column_config.NumberColumn(t(lang, "n_sources"), width="small"),
        },
    )
    for rank, cand in enumerate(diagnosis.differential, 1):
        with st.expander(f"{rank}. {inert(cand.condition)} ({cand.probability:.0%})"):
            st.markdown(f"**{t(lang, 'rationale')}:** {inert(cand.rationale) or t(lang, 'no_rationale')}")
            if not cand.citations:
                st.caption(t(lang, "no_source"))
            for citation in cand.citations:
                citation_detail(citation)
