"""Consultation exports: Markdown, and WhatsApp's own markup for sharing in messaging apps.

``markdown_to_whatsapp`` parses Markdown with markdown-it (CommonMark + strikethrough + tables)
and writes WhatsApp markup from the syntax tree: ``*bold*``, ``_italic_``, ``~strike~``,
```` ```mono``` ````, bullets ``•``, quotes ``>``. Headings become bold lines; links become
``text (url)``, since WhatsApp shows bare URLs as links.

Exports leave the clinic (messaging apps, e-mail), so by default every free text in them (the
turns, the case, the differential and its explanations, the guided consultation's answers, the
consultation's date) goes through the PHI scrubber; the
page offers the raw text only on an explicit choice, with a warning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from medassist.data.phi import scrub
from medassist.ui.client import DiagnoseResult
from medassist.ui.i18n import t
from medassist.ui.session import Consultation, Guided

_PARSER = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_INLINE_MARKS = {"strong": "*", "em": "_", "s": "~"}


def _inline(node: SyntaxTreeNode, in_bold: bool = False) -> str:
    out = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"```{child.content}```")
        elif kind in _INLINE_MARKS:
            # A heading is already bold: WhatsApp does not nest the same marker.
            nested_bold = in_bold or kind == "strong"
            inner = _inline(child, nested_bold)
            mark = "" if kind == "strong" and in_bold else _INLINE_MARKS[kind]
            out.append(f"{mark}{inner}{mark}")
        elif kind == "link":
            text, href = _inline(child, in_bold), str(child.attrs.get("href", ""))
            out.append(href if text in (href, "") else f"{text} ({href})")
        elif kind == "image":
            out.append(f"{child.content or 'image'} ({child.attrs.get('src', '')})")
        else:  # html_inline and anything unknown: keep the source text
            out.append(child.content or _inline(child, in_bold))
    return "".join(out)


def _prefix_lines(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    return "\n".join([first + lines[0], *(rest + line if line else line for line in lines[1:])])


def _blocks(nodes: list[SyntaxTreeNode], tight: bool = False) -> str:
    parts = [_block(node) for node in nodes]
    return ("\n" if tight else "\n\n").join(p for p in parts if p)


def _list(node: SyntaxTreeNode) -> str:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    items = []
    for offset, item in enumerate(node.children):
        marker = f"{start + offset}. " if ordered else "• "
        items.append(_prefix_lines(_blocks(item.children, tight=True), marker, " " * len(marker)))
    return "\n".join(items)


def _table(node: SyntaxTreeNode) -> str:
    rows = []
    for section in node.children:
        for row in section.children:
            cells = " | ".join(_inline(cell.children[0]) if cell.children else "" for cell in row.children)
            rows.append(f"*{cells}*" if section.type == "thead" else f"• {cells}")
    return "\n".join(rows)


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "heading":
        return f"*{_inline(node.children[0], in_bold=True)}*"
    if kind == "paragraph":
        return _inline(node.children[0])
    if kind == "inline":
        return _inline(node)
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "blockquote":
        return _prefix_lines(_blocks(node.children), "> ", "> ")
    if kind in ("fence", "code_block"):
        return f"```{node.content.rstrip(chr(10))}```"
    if kind == "table":
        return _table(node)
    if kind == "hr":
        return "──────────"
    if kind == "html_block":
        return node.content.rstrip("\n")
    return _blocks(node.children)


@functools.lru_cache(maxsize=64)
def markdown_to_whatsapp(md: str) -> str:
    """Rewrite Markdown as WhatsApp-formatted text (also used by ``medassist guide --format whatsapp``).

    Cached: the page re-exports the consultation on every rerun and parsing is the slow part."""
    tree = SyntaxTreeNode(_PARSER.parse(md))
    return _blocks(tree.children).strip() + "\n"


def _sources_md(citations, lang: str) -> list[str]:  # type: ignore[no-untyped-def]
    lines = [f"**{t(lang, 'sources')}:**", ""]
    if not citations:
        return [*lines, f"- {t(lang, 'no_source')}"]
    for c in citations:
        year = f" ({c.year})" if c.year else ""
        lines.append(f"- [PMID {c.pmid}]({c.url}) {c.title}{year}".rstrip())
    return lines


def _signed(weight: float) -> str:
    return f"{weight:+.2f}".replace("-", "−")


def _differential_md(diagnosis: DiagnoseResult, case_text: str, lang: str, clean: Callable[[str], str]) -> list[str]:
    """The case as the model read it, the red flags, then each condition with its must-not-miss mark,
    rationale, findings for and against (signed weights) and explanation sentence, and its sources."""
    lines = []
    if case_text:
        lines += [*(f"> {line}" for line in clean(case_text).splitlines()), ""]
    if diagnosis.red_flags:
        lines += [f"**{t(lang, 'red_flag_title')}**: {', '.join(diagnosis.red_flags)}", ""]
    for rank, cand in enumerate(diagnosis.differential, 1):
        alert = f" ⚠ {t(lang, 'must_not_miss')} ({cand.severity}/5)" if cand.must_not_miss else ""
        lines.append(f"{rank}. **{clean(cand.condition)}** ({cand.probability:.0%}){alert}"
                     + (f": {clean(cand.rationale)}" if cand.rationale else ""))
        if (expl := cand.explanation) is not None:
            for side, rows in (("findings_for", expl.supporting), ("findings_against", expl.opposing)):
                if rows:
                    weights = ", ".join(f"{clean(f.label)} {_signed(f.weight)}" for f in rows)
                    lines.append(f"   - {t(lang, side)}: {weights}")
            if expl.sentence:
                lines.append(f"   - _{clean(expl.sentence)}_")
        lines += [f"   - [PMID {c.pmid}]({c.url}) {c.title}".rstrip() for c in cand.citations]
    return [*lines, ""]


def guided_start_line(guided: Guided, lang: str) -> str:
    """"age 59 · male, chief complaint: Fever": how the guided consultation began (the age written
    as the PHI scrubber recognises it, so an age over 89 is replaced in a scrubbed export)."""
    state = guided.state
    who = [t(lang, "age_value", age=state.age) if state.age is not None else "",
           t(lang, {"F": "sex_female", "M": "sex_male"}[state.sex]) if state.sex else ""]
    return t(lang, "started_with", who=" · ".join(w for w in who if w) or "-", complaint=guided.complaint)


def _guided_md(guided: Guided, lang: str, clean: Callable[[str], str]) -> list[str]:
    """The guided consultation: who and the chief complaint, the questions in order with their answers
    (or "skipped"), then the differential after the last answer."""
    lines = [f"## {t(lang, 'guided_form')}", "", clean(guided_start_line(guided, lang)), "",
             f"**{t(lang, 'asked_title', answered=len(guided.answered), skipped=len(guided.skipped))}**", ""]
    for number, item in enumerate(guided.asked, 1):
        answer = f"_{t(lang, 'skipped')}_" if item.skipped else f"**{clean(item.answer)}**"
        lines.append(f"{number}. {item.question} {answer}")
    if guided.result is not None:
        lines += ["", f"### {t(lang, 'differential')}", ""]
        lines += _differential_md(guided.result, guided.result.case, lang, clean)
    if guided.result is not None and guided.result.combined:
        lines += ["", f"### {t(lang, 'combined_title')}", "", t(lang, "combined_help"), ""]
        lines += [f"{rank}. **{clean(row.condition)}** {row.probability:.0%} ({t(lang, 'combined_model')} "
                  f"{row.model:.0%}, {t(lang, 'combined_kb')} {row.knowledge_base:.0%})"
                  + (f" ⚠ {t(lang, 'must_not_miss')}" if row.must_not_miss else "")
                  for rank, row in enumerate(guided.result.combined, 1)]
    return lines


def consultation_markdown(consultation: Consultation, lang: str = "en", scrub_phi: bool = True) -> str:
    """The whole consultation (chat turns, guided consultation, differential) as a Markdown document,
    identifiers replaced by placeholders unless ``scrub_phi`` is False."""
    clean = scrub if scrub_phi else str
    lines = [f"# {t(lang, 'title')}: {t(lang, 'consultation')} {consultation.id}", "",
             f"_{clean(consultation.started)}_", "", f"> {t(lang, 'notice')}", ""]
    for turn in consultation.turns:
        who = t(lang, "you") if turn.role == "user" else t(lang, "assistant")
        lines += [f"## {who}", ""]
        if turn.red_flags:
            lines += [f"**{t(lang, 'red_flag_title')}**: {', '.join(turn.red_flags)}", ""]
        lines += [clean(turn.content.strip()), ""]
        if turn.role == "assistant" and turn.rag:
            lines += [*_sources_md(turn.citations, lang), ""]
    if consultation.guided is not None:
        lines += [*_guided_md(consultation.guided, lang, clean), ""]
    if consultation.diagnosis is not None:
        lines += [f"## {t(lang, 'differential')}", ""]
        lines += _differential_md(consultation.diagnosis, consultation.case_text, lang, clean)
    return "\n".join(lines).rstrip() + "\n"


def consultation_whatsapp(consultation: Consultation, lang: str = "en", scrub_phi: bool = True) -> str:
    return markdown_to_whatsapp(consultation_markdown(consultation, lang, scrub_phi))
