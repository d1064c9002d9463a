"""Records -> chat examples ``{"messages", "source", "id", "target"}`` for SFT and evaluation.

Every example starts with the shared ``SYSTEM_PROMPT`` and asks with the prompts of
``medassist.data.prompts``, so training, serving and evaluation see one format. ``target`` is the
short gold answer (option letter, yes/no/maybe, pathology, label) for probes and scoring.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from medassist.data.ddxplus import DDXPlusKB
from medassist.data.prompts import (
    NOT_IN_SOURCES,
    SYSTEM_PROMPT,
    Source,
    build_grounded_messages,
    case_user_prompt,
    format_differential,
    grounded_answer,
    mcq_answer,
    mcq_user_prompt,
    pubmedqa_answer,
    pubmedqa_user_prompt,
)
from medassist.data.records import CustomItem, DDXPatient, MCQItem, PubMedQAItem
from medassist.errors import MedassistError

BUILD_SOURCES = ("medqa", "medmcqa", "pubmedqa", "ddxplus", "custom")


def _example(source: str, item_id: str, user: str, assistant: str, target: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ],
        "source": source,
        "id": item_id,
        "target": target,
    }


def mcq_example(item: MCQItem) -> dict[str, Any]:
    """Question + lettered options -> ``Answer: C. <option text>``."""
    return _example(item.source, item.id, mcq_user_prompt(item.question, item.options),
                    mcq_answer(item.answer_idx, item.answer), item.answer_idx)


def _clip_words(text: str, max_words: int | None) -> str:
    words = text.split()
    return text if max_words is None or len(words) <= max_words else " ".join(words[:max_words]) + " ..."


def pubmedqa_example(item: PubMedQAItem, with_context: bool = True,
                     max_context_words: int | None = None) -> dict[str, Any]:
    """Question (+ abstract, optionally clipped to fit a short context) -> ``yes. <long answer>``."""
    context = _clip_words(" ".join(item.contexts), max_context_words) if with_context else None
    return _example("pubmedqa", item.pmid, pubmedqa_user_prompt(item.question, context),
                    pubmedqa_answer(item.final_decision, item.long_answer), item.final_decision)


def grounded_pubmedqa_examples(items: Sequence[PubMedQAItem], distractors: int = 2, without_oracle: float = 0.2,
                               seed: int = 0, max_context_words: int | None = 120) -> list[dict[str, Any]]:
    """Questions answered from numbered sources, citing the one that answers, as serving asks them.

    RAFT's recipe (Zhang et al., 2024, "Adapt language models to domain-specific RAG"): each
    question comes with its own abstract (the oracle) among ``distractors`` other abstracts, in a
    random order, and the answer cites the oracle's ``[PMID]``; a ``without_oracle`` share gets
    distractors only and learns to say the sources do not answer. The prompt is
    ``build_grounded_messages``, the serve part's grounded prompt, so training and serving match.
    """
    rng = random.Random(seed)
    sources = {item.pmid: Source(item.pmid, "", _clip_words(" ".join(item.contexts), max_context_words),
                                 item.year) for item in items}
    examples = []
    for item in items:
        others = [s for pmid, s in sources.items() if pmid != item.pmid]
        chosen = rng.sample(others, min(distractors, len(others)))
        has_oracle = not chosen or rng.random() >= without_oracle
        if has_oracle:
            chosen.insert(rng.randrange(len(chosen) + 1), sources[item.pmid])
            text = pubmedqa_answer(item.final_decision, item.long_answer)
            answer = grounded_answer(text[:1].upper() + text[1:], item.pmid)
        else:
            answer = NOT_IN_SOURCES
        messages = [*build_grounded_messages(item.question, chosen), {"role": "assistant", "content": answer}]
        examples.append({"messages": messages, "source": "pubmedqa-grounded", "id": item.pmid,
                         "target": item.final_decision if has_oracle else "not-in-sources"})
    return examples


def truth_first(pathology: str, differential: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """DDXPlus' differential, ranked, with the patient's true pathology moved to the top.

    The differential comes from the dataset's rule-based simulator and ranks the true pathology
    first for only 59% of the patients of the shared subset: a model that learns that ranking
    cannot put the truth first more often. The true pathology swaps places *and* probabilities
    with the simulator's top entry (or takes that entry's place if the simulator left it out), so
    the list stays sorted by probability.
    """
    ranked = sorted(differential, key=lambda p: -p[1]) or [(pathology, 1.0)]
    names = [name for name, _ in ranked]
    if pathology not in names:
        return [(pathology, ranked[0][1]), *ranked[1:]]
    i = names.index(pathology)
    ranked[0], ranked[i] = (pathology, ranked[0][1]), (ranked[0][0], ranked[i][1])
    return ranked


def ddx_example(patient: DDXPatient, kb: DDXPlusKB, top_k: int = 5) -> dict[str, Any]:
    """Vignette -> ranked differential JSON with probabilities, the true pathology first."""
    return _example("ddxplus", patient.id, case_user_prompt(kb.vignette(patient)),
                    format_differential(truth_first(patient.pathology, patient.differential or []), top_k),
                    patient.pathology)


def custom_example(item: CustomItem, labels: Sequence[str] = ()) -> dict[str, Any]:
    """Chat records pass through (system prompt added if absent); ``text,label`` rows become
    "classify this text as one of <labels>" -> label."""
    if item.messages is not None:
        messages = list(item.messages)
        if messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": SYSTEM_PROMPT})
        last = next(m["content"] for m in reversed(messages) if m["role"] == "assistant")
        return {"messages": messages, "source": "custom", "id": item.id, "target": last}
    choices = f" as one of: {', '.join(labels)}" if labels else ""
    return _example("custom", item.id, f"{item.text}\nClassify this text{choices}.", item.label or "",
                    item.label or "")


def build_examples(source: str, records: Iterable[Any], kb: DDXPlusKB | None = None,
                   **options: Any) -> list[dict[str, Any]]:
    """Dispatch on ``source`` (medqa, medmcqa, pubmedqa, ddxplus, custom); ``records`` is consumed
    lazily (wrap it in tqdm for progress). ``grounded=True`` turns PubMedQA into answers from
    numbered sources that cite the right PMID (``grounded_pubmedqa_examples``)."""
    if source in ("medqa", "medmcqa"):
        return [mcq_example(r) for r in records]
    if source == "pubmedqa":
        if options.pop("grounded", False):
            return grounded_pubmedqa_examples(list(records), **options)
        return [pubmedqa_example(r, **options) for r in records]
    if source == "ddxplus":
        if kb is None:
            raise MedassistError("ddxplus examples need the knowledge base (conditions + evidences JSON)")
        return [ddx_example(r, kb, **options) for r in records]
    if source == "custom":
        records = list(records)
        labels = sorted({r.label for r in records if r.label})
        return [custom_example(r, labels) for r in records]
    raise MedassistError(f"unknown source {source!r}; expected one of {', '.join(BUILD_SOURCES)}")
