"""The four suites: how each turns a dataset into chat requests, and how it scores the answers.

``build_items`` reads the data through ``medassist.data`` and the shared prompts (so the model
is asked as it was trained); each item carries its gold fields, which go into
``predictions.jsonl`` beside the answer. ``score`` works from those records alone (plus the
DDXPlus knowledge base for name normalisation), so a stored run can always be re-scored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medassist.errors import MedassistError
from medassist.eval.config import EvalConfig

SUITES = ("medqa", "pubmedqa", "ddx", "faithfulness")


@dataclass
class RunSpec:
    """What a run asks; stored as ``run.json`` so a resumed run must ask the same thing."""

    suite: str
    data: str
    backend: str
    format: str = "medqa"  # medqa suite: medqa | medmcqa
    context: bool = True  # pubmedqa suite: give the abstract (False = PubMedQA*, retrieval only)
    rag: bool | None = None
    index: str | None = None
    limit: int | None = None


# ---------------------------------------------------------------------------- items
def chat_messages(user: str) -> list[dict[str, str]]:
    """A question as the model was trained on it: the shared system prompt, then the user turn."""
    from medassist.data.prompts import SYSTEM_PROMPT

    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class Grounder:
    """In-process retrieval for ``--model ... --rag on``: the rag part's index and grounding prompt."""

    def __init__(self, index: str | None, k: int):
        if not index:
            raise MedassistError("--rag on with --model needs --index DIR (a `medassist rag build` index); "
                                 "with --endpoint the server retrieves")
        from medassist.rag.retriever import Retriever

        self.retriever, self.k = Retriever.load(index), k

    def messages(self, query: str, user: str) -> list[dict[str, str]]:
        from medassist.data.prompts import build_grounded_messages

        return build_grounded_messages(user, self.retriever.search(query, k=self.k))


def _limit(records: list[Any], limit: int | None) -> list[Any]:
    return records[:limit] if limit else records


def build_items(spec: RunSpec, config: EvalConfig, in_process: bool) -> tuple[list[dict[str, Any]], list[Path]]:
    """Chat requests plus gold fields for every item, and the data files read (for the manifest)."""
    from medassist.data import formats, prompts

    if spec.suite not in SUITES:
        raise MedassistError(f"unknown suite {spec.suite!r}; expected one of {', '.join(SUITES)}")
    grounder = Grounder(spec.index, config.retrieval_k) if spec.rag and in_process else None
    fmt = {"medqa": spec.format, "ddx": "ddxplus"}.get(spec.suite, "pubmedqa")
    if fmt not in ("medqa", "medmcqa", "pubmedqa", "ddxplus"):
        raise MedassistError(f"--format {fmt!r}: the medqa suite reads medqa or medmcqa files")
    loaded = formats.load(fmt, spec.data)
    records = _limit(loaded.records, spec.limit)
    items = []
    for r in records:
        if spec.suite == "medqa":
            user = prompts.mcq_user_prompt(r.question, r.options)
            item = {"id": r.id, "options": r.options, "answer_idx": r.answer_idx, "meta_info": r.meta_info,
                    "messages": grounder.messages(r.question, user) if grounder else chat_messages(user)}
        elif spec.suite == "pubmedqa":
            user = prompts.pubmedqa_user_prompt(r.question, " ".join(r.contexts) if spec.context else None)
            item = {"id": r.pmid, "final_decision": r.final_decision,
                    "messages": grounder.messages(r.question, user) if grounder else chat_messages(user)}
        elif spec.suite == "ddx":
            user = prompts.case_user_prompt(loaded.kb.vignette(r))
            item = {"id": r.id, "pathology": r.pathology, "true_differential": r.differential,
                    "age": r.age, "sex": r.sex,
                    "messages": grounder.messages(user, user) if grounder else chat_messages(user)}
        else:
            item = _faithfulness_item(r, spec, grounder)
        items.append(item)
    return items, loaded.files


def _faithfulness_item(r: Any, spec: RunSpec, grounder: Grounder | None) -> dict[str, Any]:
    """A PubMedQA question answered from sources: the server's or index's retrieval when RAG is on,
    else the question's own abstract given as the one source (gold-context faithfulness)."""
    from medassist.data.prompts import build_grounded_messages
    from medassist.rag.retriever import Passage

    abstract = " ".join(r.contexts)
    if spec.rag and grounder is None:  # the endpoint retrieves and returns its citations
        return {"id": r.pmid, "question": r.question, "sources": {}, "messages": chat_messages(r.question)}
    if grounder is not None:
        passages = grounder.retriever.search(r.question, k=grounder.k)
    else:
        passages = [Passage(r.pmid, "", abstract, int(r.year) if r.year else None, None, 1.0, 0)]
    return {"id": r.pmid, "question": r.question, "sources": {p.pmid: p.text for p in passages},
            "messages": build_grounded_messages(r.question, passages, max_chars=4000)}


def record_of(item: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The line stored in predictions.jsonl: gold fields, a hash of the prompt, and the answer."""
    prompt = "\n".join(m["content"] for m in item["messages"])
    fields = {k: v for k, v in item.items() if k != "messages"}
    return {**fields, "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(), **answer}
