"""The offline faithfulness scorer (real MiniLM embeddings) and ALCE citation scores."""

import json

import pytest

from medassist.data.answers.citations import extract_citations
from medassist.eval.faithfulness import split_statements

SOURCES = {
    "11111111": "Metformin lowers blood glucose in patients with type 2 diabetes. It is taken by mouth twice a day.",
    "22222222": "Aspirin reduces the risk of recurrent myocardial infarction after a first heart attack.",
}
ANSWER = (
    "Metformin lowers blood glucose in type 2 diabetes [11111111]. "
    "Aspirin reduces the risk of a recurrent myocardial infarction [22222222]. "
    "The moon is made of green cheese [11111111]. "
    "Metformin is taken by mouth [11111111, 22222222]. "
    "Aspirin prevents heart attacks."
)


def test_statements_and_citations_are_split() -> None:
    statements = split_statements(ANSWER)
    assert len(statements) == 5
    assert extract_citations(statements[3]) == ["11111111", "22222222"]
    assert extract_citations(statements[4]) == []
    assert split_statements("Aspirin helps. [12345678]") == ["Aspirin helps. [12345678]"]


def test_offline_scorer_alce_citation_scores(offline_scorer) -> None:
    result = offline_scorer.score_answer(ANSWER, SOURCES)
    supported = [s["supported"] for s in result["per_statement"]]
    assert supported == [True, True, False, True, True]  # only the green-cheese claim is unsupported
    assert result["faithfulness"] == pytest.approx(4 / 5)
    # citation recall: statements supported by what they cite (uncited statement 5 counts as not)
    assert result["citation_recall"] == pytest.approx(3 / 5)
    # citation precision: 5 citations; the moon's and the needless 22222222 on statement 4 are imprecise
    assert result["per_statement"][3]["precise_citations"] == ["11111111"]
    assert result["citation_precision"] == pytest.approx(3 / 5)
    assert result["per_statement"][2]["score"] < 0.2 < 0.9 < result["per_statement"][0]["score"]


@pytest.mark.shared_data
def test_scorer_separates_own_abstract_from_another_on_pubmedqa(shared_data, offline_scorer) -> None:
    """Validation on real data: a conclusion vs its own abstract or a different one (ROC-AUC >= 0.9)."""
    from sklearn.metrics import roc_auc_score

    records = list(json.loads((shared_data / "pubmedqa" / "ori_pqal.json").read_text()).values())[:16]
    abstracts = [" ".join(r["CONTEXTS"]) for r in records]
    offline_scorer.prepare([r["LONG_ANSWER"] for r in records], abstracts)
    own = [offline_scorer.score_answer(r["LONG_ANSWER"], {"1": a})["mean_support"]
           for r, a in zip(records, abstracts, strict=True)]
    other = [offline_scorer.score_answer(r["LONG_ANSWER"], {"1": abstracts[(i + 1) % len(records)]})["mean_support"]
             for i, r in enumerate(records)]
    assert roc_auc_score([1] * len(own) + [0] * len(other), own + other) >= 0.9
