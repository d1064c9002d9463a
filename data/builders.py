"""Records -> chat examples ``{"messages", "source", "id", "target"}`` for SFT and evaluation.

Every example starts with the shared ``SYSTEM_PROMPT`` and asks with the prompts of the answer
formats (``medassist.data.answers``), so training, serving and evaluation see one format. ``target`` is the
short gold answer (option letter, yes/no/maybe, pathology, label) for probes and scoring.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from typing import Any

from medassist.data.answers.citations import NOT_IN_SOURCES, Source, build_grounded_messages, grounded_answer
from medassist.data.answers.differential import case_user_prompt, format_differential
from medassist.data.answers.mcq import mcq_answer, mcq_user_prompt
from medassist.data.answers.pubmedqa_decision import pubmedqa_answer, pubmedqa_user_prompt
from medassist.data.ddxplus import DDXPlusKB
from medassist.data.partial import partial_evidence, soften, variant_rng
from medassist.data.prompts import SYSTEM_PROMPT, chat_messages
from medassist.data.records import Abstract, CustomItem, DDXPatient, MCQItem, PubMedQAItem
from medassist.errors import MedassistError

BUILD_SOURCES = ("medqa", "medmcqa", "pubmedqa", "ddxplus", "pubmed", "custom")


def _example(source: str, item_id: str, user: str, assistant: str, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [*chat_messages(user), {"role": "assistant", "content": assistant}],
        "source": source,
        "id": item_id,
        "target": target,
        **extra,
    }


def mcq_example(item: MCQItem) -> dict[str, Any]:
    """Question + lettered options -> ``Answer: C. <option text>``."""
    return _example(item.source, item.id, mcq_user_prompt(item.question, item.options),
                    mcq_answer(item.answer_idx, item.answer), item.answer_idx, options=dict(item.options))


def _clip_words(text: str, max_words: int | None) -> str:
    words = text.split()
    return text if max_words is None or len(words) <= max_words else " ".join(words[:max_words]) + " ..."


def pubmedqa_example(item: PubMedQAItem, with_context: bool = True,
                     max_context_words: int | None = None) -> dict[str, Any]:
    """Question (+ abstract, optionally clipped to fit a short context) -> ``yes. <long answer>``."""
    context = _clip_words(" ".join(item.contexts), max_context_words) if with_context else None
    return _example("pubmedqa", item.pmid, pubmedqa_user_prompt(item.question, context),
                    pubmedqa_answer(item.final_decision, item.long_answer), item.final_decision)


def _raft(question: str, oracle: Source, answer: str, pool: Sequence[Source], rng: random.Random, distractors: int,
          without_oracle: float, related: Sequence[Source] = ()) -> tuple[list[dict[str, str]], bool]:
    """RAFT's layout (Zhang et al., 2024, "Adapt language models to domain-specific RAG"): the
    oracle source among ``distractors`` others in a random order, answered with a citation of its
    PMID; a ``without_oracle`` share gets distractors only and learns to say the sources do not
    answer. Up to half the distractors come from ``related`` (same subject), as retrieval would
    return them, so the model learns to pick the source that answers. The prompt is
    ``build_grounded_messages``, the serve part's, so training and serving match. Returns the
    messages and whether the oracle was shown."""
    near = [source for source in related if source.pmid != oracle.pmid]
    chosen = rng.sample(near, min(len(near), max(1, distractors // 2))) if near else []
    picked = {oracle.pmid, *(source.pmid for source in chosen)}
    others = [source for source in pool if source.pmid not in picked]
    chosen += rng.sample(others, min(distractors - len(chosen), len(others)))
    rng.shuffle(chosen)
    has_oracle = not chosen or rng.random() >= without_oracle
    if has_oracle:
        chosen.insert(rng.randrange(len(chosen) + 1), oracle)
    reply = grounded_answer(answer, oracle.pmid) if has_oracle else NOT_IN_SOURCES
    return [*build_grounded_messages(question, chosen), {"role": "assistant", "content": reply}], has_oracle


_SECTION = re.compile(r"\b(BACKGROUND|OBJECTIVES?|AIMS?|METHODS|RESULTS|FINDINGS|CONCLUSIONS?|INTERPRETATION):\s*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def abstract_finding(abstract: Abstract, max_sentences: int = 2) -> str:
    """What an abstract found: its RESULTS (else CONCLUSIONS, else its last) sentences."""
    parts = _SECTION.split(abstract.abstract)
    sections = {label.rstrip("S"): text.strip() for label, text in zip(parts[1::2], parts[2::2], strict=True)}
    text = sections.get("RESULT") or sections.get("FINDING") or sections.get("CONCLUSION") or ""
    sentences = _SENTENCE.split(text or abstract.abstract.strip())
    return " ".join(sentences[:max_sentences] if text else sentences[-max_sentences:]).strip()


QUESTION_FORMS = (
    "What is known about {topic}?",
    "What does the evidence say about {topic}?",
    "Summarise the evidence on {topic}.",
    "What did studies find on {topic}?",
)


def abstract_question(abstract: Abstract, rng: random.Random) -> str:
    """An open question an abstract answers, about its title without the study-design subtitle, in
    one of several phrasings (users do not all ask alike)."""
    topic = abstract.title.split(":")[0].strip().rstrip(".")
    return rng.choice(QUESTION_FORMS).format(topic=topic[:1].lower() + topic[1:])


def grounded_abstract_examples(abstracts: Sequence[Abstract], distractors: int = 2, without_oracle: float = 0.1,
                               seed: int = 0, max_chars: int = 600) -> list[dict[str, Any]]:
    """PubMed abstracts as grounded questions: what is known about the title's subject, answered
    with the abstract's findings and its ``[PMID]``, the abstract among distractors (``_raft``;
    abstracts sharing a MeSH heading are the related ones).
    Any corpus the retriever indexes can teach the model to answer from it and cite."""
    rng = random.Random(seed)
    pool = [Source(a.pmid, a.title, a.abstract[:max_chars], a.year, a.journal) for a in abstracts]
    by_mesh: dict[str, list[Source]] = {}
    for abstract, source in zip(abstracts, pool, strict=True):
        for heading in abstract.mesh:
            by_mesh.setdefault(heading, []).append(source)
    examples = []
    for abstract, oracle in zip(abstracts, pool, strict=True):
        related = list({s.pmid: s for heading in abstract.mesh for s in by_mesh[heading]}.values())
        messages, has_oracle = _raft(abstract_question(abstract, rng), oracle, abstract_finding(abstract), pool, rng,
                                     distractors, without_oracle, related)
        examples.append({"messages": messages, "source": "pubmed", "id": abstract.pmid,
                         "target": abstract.pmid if has_oracle else "not-in-sources"})
    return examples


def grounded_pubmedqa_examples(items: Sequence[PubMedQAItem], distractors: int = 2, without_oracle: float = 0.1,
                               seed: int = 0, max_context_words: int | None = 120) -> list[dict[str, Any]]:
    """PubMedQA questions answered from sources: the question's own abstract among
    distractors (``_raft``), answered with its conclusion (no yes/no lead-in: grounded questions in
    use are open questions) and its ``[PMID]``."""
    rng = random.Random(seed)
    pool = [Source(item.pmid, "", _clip_words(" ".join(item.contexts), max_context_words), item.year)
            for item in items]
    examples = []
    for item, oracle in zip(items, pool, strict=True):
        messages, has_oracle = _raft(item.question, oracle, item.long_answer, pool, rng, distractors, without_oracle)
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


def ddx_partial_examples(patient: DDXPatient, kb: DDXPlusKB, variants: int, seed: int = 0,
                         top_k: int = 5) -> list[dict[str, Any]]:
    """``variants`` cases of ``patient`` seen part-way through a consultation (``data/partial.py``)."""
    ranked = truth_first(patient.pathology, patient.differential or [])
    total = len({*kb.group(patient.evidences), patient.initial_evidence})
    examples = []
    for j in range(variants):
        known = partial_evidence(patient, kb, variant_rng(seed, patient.id, j))
        vignette = kb.partial_vignette(patient.age, patient.sex, patient.initial_evidence, known)
        examples.append(_example("ddxplus-partial", f"{patient.id}#partial{j}", case_user_prompt(vignette),
                                 format_differential(soften(ranked, len(known) / total), top_k),
                                 patient.pathology, evidence_shown=sorted(known)))
    return examples


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
    sources that cite the right PMID (``grounded_pubmedqa_examples``); ``partial=N`` (DDXPlus) adds
    N partial-evidence variants after each full case (``ddx_partial_examples``, seeded by ``seed``)."""
    if source in ("medqa", "medmcqa"):
        return [mcq_example(r) for r in records]
    if source == "pubmedqa":
        if options.pop("grounded", False):
            return grounded_pubmedqa_examples(list(records), **options)
        return [pubmedqa_example(r, **options) for r in records]
    if source == "ddxplus":
        if kb is None:
            raise MedassistError("ddxplus examples need the knowledge base (conditions + evidences JSON)")
        variants, seed = options.pop("partial", 0), options.pop("seed", 0)
        return [e for r in records for e in (ddx_example(r, kb, **options),
                                              *ddx_partial_examples(r, kb, variants, seed, **options))]
    if source == "pubmed":
        return grounded_abstract_examples(list(records), **options)
    if source == "custom":
        records = list(records)
        labels = sorted({r.label for r in records if r.label})
        return [custom_example(r, labels) for r in records]
    raise MedassistError(f"unknown source {source!r}; expected one of {', '.join(BUILD_SOURCES)}")
