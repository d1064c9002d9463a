"""PubMed abstracts for retrieval: JSONL (``pmid, title, abstract, year[, journal, mesh]``), MEDLINE
XML (``PubmedArticleSet``, as in the annual baseline files), and PubMedQA's ``ori_pqal.json`` (the
only real abstracts available offline here: contexts + conclusion, question as title).

Everything streams (``iterparse`` for XML, clearing each article), plain or gzip, so a 30k-article
baseline file never sits in memory at once.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medassist.data.records import Abstract
from medassist.data.validation import Checker, Problems, is_jsonl, iter_dict_records, open_text


def _year(value: Any, where: str, check: Checker) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value)[:4])
    except ValueError:
        check.fail(where, "year", f"expected a year like 2019, got {value!r}", "bad value")
        return None


def parse_abstract(obj: dict[str, Any], where: str, check: Checker) -> Abstract | None:
    pmid = obj.get("pmid")
    if isinstance(pmid, int):
        pmid = str(pmid)
    if not isinstance(pmid, str) or not pmid.strip():
        check.fail(where, "pmid", "missing (required)" if pmid is None else f"expected a string, got {pmid!r}",
                   "missing field" if pmid is None else "wrong type")
        return None
    title = check.get(obj, "title", where)
    abstract = check.get(obj, "abstract", where)
    mesh = obj.get("mesh") or []
    if not isinstance(mesh, list):
        check.fail(where, "mesh", "expected a list of strings", "wrong type")
        return None
    journal = obj.get("journal")
    if title is None or abstract is None:
        return None
    return Abstract(pmid=pmid.strip(), title=title, abstract=abstract, year=_year(obj.get("year"), where, check),
                    journal=journal if isinstance(journal, str) else None, mesh=[str(m) for m in mesh])


def _text(elem: ET.Element | None) -> str:
    return " ".join("".join(elem.itertext()).split()) if elem is not None else ""


def parse_article(elem: ET.Element, where: str, check: Checker) -> Abstract | None:
    """One ``PubmedArticle`` element as an abstract (None when it has no text); public because the
    streamed index build (rag/changes.py) reads baseline and update files element by element."""
    citation = elem.find("MedlineCitation")
    pmid = _text(citation.find("PMID")) if citation is not None else ""
    if not pmid:
        check.fail(where, "MedlineCitation/PMID", "missing (required)", "missing field")
        return None
    article = citation.find("Article")
    title = _text(article.find("ArticleTitle")) if article is not None else ""
    parts = []
    for node in article.iterfind("Abstract/AbstractText") if article is not None else []:
        label = node.get("Label")
        parts.append(f"{label}: {_text(node)}" if label else _text(node))
    date = article.find("Journal/JournalIssue/PubDate") if article is not None else None
    year_text = _text(date.find("Year")) if date is not None else ""
    if not year_text and date is not None:
        year_text = _text(date.find("MedlineDate"))[:4]
    mesh = [_text(d) for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")]
    journal = _text(article.find("Journal/Title")) if article is not None else ""
    if not title and not parts:
        return None  # nothing to retrieve (e.g. a correction notice)
    return Abstract(pmid=pmid, title=title, abstract=" ".join(parts), year=_year(year_text, where, check),
                    journal=journal or None, mesh=mesh)


def _iter_xml(path: str | Path, check: Checker) -> Iterator[Abstract]:
    count = 0
    with open_text(path) as handle:
        try:
            for _event, elem in ET.iterparse(handle, events=("end",)):
                if elem.tag != "PubmedArticle":
                    continue
                count += 1
                record = parse_article(elem, f"article {count}", check)
                elem.clear()
                if record is not None:
                    yield record
        except ET.ParseError as exc:
            line, column = exc.position
            check.fail(f"line {line}", "(xml)", f"malformed XML at column {column}: {exc}", "invalid XML")


def _from_pubmedqa(obj: dict[str, Any], where: str) -> Abstract | None:
    contexts = obj.get("CONTEXTS")
    if not isinstance(contexts, list) or not isinstance(obj.get("QUESTION"), str):
        return None
    labels = obj.get("LABELS") or []
    body = [f"{lab}: {ctx}" if lab else ctx for lab, ctx in zip(labels + [""] * len(contexts), contexts,
                                                                  strict=False)]
    if obj.get("LONG_ANSWER"):
        body.append(f"CONCLUSIONS: {obj['LONG_ANSWER']}")
    year = obj.get("YEAR")
    return Abstract(pmid=where.removeprefix("key "), title=obj["QUESTION"], abstract=" ".join(body),
                    year=int(year) if isinstance(year, str) and year.isdigit() else None, journal=None,
                    mesh=list(obj.get("MESHES") or []))


def _sniff(path: str | Path) -> str:
    """"xml", "jsonl" (first line is a whole abstract object, whatever the suffix) or "pubmedqa"."""
    with open_text(path) as handle:
        first = handle.readline()
    if first.lstrip().startswith("<"):
        return "xml"
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if is_jsonl(path) or (isinstance(record, dict) and "pmid" in record):
        return "jsonl"
    return "pubmedqa"


def iter_pubmed(path: str | Path, *, problems: Problems | None = None) -> Iterator[Abstract]:
    """Stream abstracts from JSONL, MEDLINE XML or ``ori_pqal.json`` (any of them gzip-compressed)."""
    check = Checker(path, problems)
    kind = _sniff(path)
    if kind == "xml":
        yield from _iter_xml(path, check)
    elif kind == "jsonl":
        for where, obj in iter_dict_records(path, check, lines=True):
            if (record := parse_abstract(obj, where, check)) is not None:
                yield record
    else:  # ori_pqal.json: {pmid: {QUESTION, CONTEXTS, ...}}
        for where, obj in iter_dict_records(path, check):
            if (record := _from_pubmedqa(obj, where)) is not None:
                yield record
            else:
                check.fail(where, "QUESTION/CONTEXTS", "expected a PubMedQA record or an abstract", "wrong type")
