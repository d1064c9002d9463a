"""Leaf renderers of the page: notice, red-flag banner, answers, sources, differential (with its
must-not-miss marks and attribution bars), the guided consultation's history, errors.

They only draw what they are given, so the page modules decide what to show and when. Text
that comes from the model or the index goes through ``inert`` first (no remote images, no HTML).
"""

from __future__ import annotations

from collections.abc import Iterable

import altair as alt
import streamlit as st

from medassist.ui.client import ApiError, Candidate, CombinedCondition, DiagnoseResult, Explanation, Reference
from medassist.ui.i18n import t
from medassist.ui.inert import inert
from medassist.ui.session import Asked, Turn

# raises / lowers: blue and orange read apart for the common colour-vision deficiencies, and
# neither is the red of the must-not-miss mark
BAR_COLOURS = ("#1f77b4", "#e07b00")


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


def must_not_miss_mark(cand: Candidate, lang: str) -> str:
    """The table's alert cell: empty unless the knowledge base rates the condition severity 1-2."""
    return f"⚠ {t(lang, 'must_not_miss')}" if cand.must_not_miss else ""


def explanation(expl: Explanation, lang: str) -> None:
    """A small horizontal bar chart of the findings for (positive) and against (negative) a condition,
    strongest at the top, and the sentence that says it in words under it."""
    rows = [{"finding": f.label, "weight": f.weight, "effect": t(lang, "raises")} for f in expl.supporting]
    rows += [{"finding": f.label, "weight": f.weight, "effect": t(lang, "lowers")} for f in expl.opposing]
    if not rows:
        st.caption(t(lang, "no_findings_moved"))
    else:
        order = [r["finding"] for r in sorted(rows, key=lambda r: -r["weight"])]
        chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
            x=alt.X("weight:Q", title=t(lang, "weight_axis")),
            y=alt.Y("finding:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color("effect:N", title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(domain=[t(lang, "raises"), t(lang, "lowers")], range=list(BAR_COLOURS))),
            tooltip=["finding:N", alt.Tooltip("weight:Q", format="+.3f"), "effect:N"],
        ).properties(height=alt.Step(24))  # 24 px a bar: every finding's label fits beside its bar
        st.altair_chart(chart, width="stretch")
    if expl.sentence:
        st.markdown(inert(f"_{expl.sentence}_"))


def differential(diagnosis: DiagnoseResult, lang: str, expand_first: bool = False) -> None:
    """The ranked differential as a table with probability bars and a must-not-miss column, then one
    expander per row (rationale, findings for and against, sources)."""
    red_flag_banner(diagnosis.red_flags, lang)
    st.subheader(t(lang, "differential"))
    rows = [{"rank": i, "condition": c.condition, "probability": c.probability, "alert": must_not_miss_mark(c, lang),
             "sources": len(c.citations)} for i, c in enumerate(diagnosis.differential, 1)]
    st.dataframe(
        rows, hide_index=True, width="stretch",
        column_config={
            # widths in pixels, scaled together to the table's width: the condition's name gets the most
            "rank": st.column_config.NumberColumn(t(lang, "rank"), width=30),
            "condition": st.column_config.TextColumn(t(lang, "condition"), width=205),
            "probability": st.column_config.ProgressColumn(
                t(lang, "probability"), min_value=0.0, max_value=1.0, format="percent", width=105),
            "alert": st.column_config.TextColumn(t(lang, "alert"), width=115),
            "sources": st.column_config.NumberColumn(t(lang, "n_sources"), width=60),
        },
    )
    for rank, cand in enumerate(diagnosis.differential, 1):
        label = f"{rank}. {inert(cand.condition)} ({cand.probability:.0%})"
        if cand.must_not_miss:
            label += f" · :red[**{t(lang, 'must_not_miss')}**]"
        with st.expander(label, expanded=expand_first and rank == 1,
                         icon=":material/emergency:" if cand.must_not_miss else None):
            if cand.must_not_miss:
                st.caption(t(lang, "must_not_miss_help", severity=cand.severity))
            if cand.explanation is not None:
                explanation(cand.explanation, lang)
            st.markdown(f"**{t(lang, 'rationale')}:** {inert(cand.rationale) or t(lang, 'no_rationale')}")
            if not cand.citations:
                st.caption(t(lang, "no_source"))
            for citation in cand.citations:
                citation_detail(citation)


def combined_differential(rows: list[CombinedCondition], lang: str) -> None:
    """A consultation's combined differential: each condition's mixed probability and the model's and
    the knowledge base's shares beside it, so the clinician sees where a probability comes from."""
    st.subheader(t(lang, "combined_title"))
    st.caption(t(lang, "combined_help"))
    st.dataframe(
        [{"condition": r.condition, "probability": r.probability, "model": f"{r.model:.0%}",
          "knowledge_base": f"{r.knowledge_base:.0%}", "alert": "⚠" if r.must_not_miss else ""} for r in rows],
        hide_index=True, width="stretch",
        column_config={  # narrow share columns (headers explained on hover): the condition's name gets the room
            "condition": st.column_config.TextColumn(t(lang, "condition"), width=230),
            "probability": st.column_config.ProgressColumn(
                t(lang, "combined_probability"), min_value=0.0, max_value=1.0, format="percent", width=100),
            "model": st.column_config.TextColumn(t(lang, "combined_model"), width=50),
            "knowledge_base": st.column_config.TextColumn(t(lang, "combined_kb_short"), width=40,
                                                          help=t(lang, "combined_kb")),
            "alert": st.column_config.TextColumn("⚠", width=30, help=t(lang, "must_not_miss")),
        },
    )


def asked_history(asked: list[Asked], lang: str) -> None:
    """The guided consultation's questions in the order asked, with the answer given (or "skipped")
    and the leading condition before and after it."""
    answered = sum(not a.skipped for a in asked)
    st.markdown(f"**{t(lang, 'asked_title', answered=answered, skipped=len(asked) - answered)}**")
    if not asked:
        st.caption(t(lang, "asked_none"))
        return
    lines = []
    for number, item in enumerate(asked, 1):
        answer = f"_{t(lang, 'skipped')}_" if item.skipped else f"**{inert(item.answer)}**"
        moved = f" · {t(lang, 'leading')}: {inert(item.top_before)} → {inert(item.top_after)}" if (
            not item.skipped and item.top_after) else ""
        lines.append(f"{number}. {inert(item.question)} {answer}{moved}")
    st.markdown("\n".join(lines))
