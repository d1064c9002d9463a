"""PubMed files as a stream of changes: an article to insert or replace, or a PMID to delete.

The annual baseline (``pubmed25nNNNN.xml.gz``) only adds articles; the daily update files add new
ones, repeat revised ones whole (the later copy is the current one) and end with a
``<DeleteCitation>`` list of withdrawn PMIDs. Applying files in order, last copy wins, deletions
after the file's articles, reproduces PubMed's own state. JSONL and PubMedQA files hold only
articles. Articles are parsed by ``medassist.data.pubmed`` (one MEDLINE parser in the project).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medassist.data import Abstract, Problems, iter_pubmed
from medassist.data.pubmed import parse_article
from medassist.data.validation import Checker, open_text


@dataclass(frozen=True)
class Deletion:
    pmid: str


def is_xml(path: str | Path) -> bool:
    with open_text(path) as handle:
        return handle.read(512).lstrip().startswith("<")


def iter_changes(path: str | Path, problems: Problems | None = None) -> Iterator[Abstract | Deletion]:
    """Articles and deletions of one file, in file order (streamed: one article in memory at a time)."""
    if not is_xml(path):
        yield from iter_pubmed(path, problems=problems)
        return
    check = Checker(path, problems)
    count = 0
    with open_text(path) as handle:
        try:
            for _event, elem in ET.iterparse(handle, events=("end",)):
                if elem.tag == "PubmedArticle":
                    count += 1
                    record = parse_article(elem, f"article {count}", check)
                    elem.clear()
                    if record is not None:
                        yield record
                elif elem.tag == "DeleteCitation":
                    for node in elem.iterfind("PMID"):
                        if pmid := (node.text or "").strip():
                            yield Deletion(pmid)
                    elem.clear()
        except ET.ParseError as exc:
            line, column = exc.position
            check.fail(f"line {line}", "(xml)", f"malformed XML at column {column}: {exc}", "invalid XML")
