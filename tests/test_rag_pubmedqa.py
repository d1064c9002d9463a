"""Hybrid retrieval finds the source abstract of PubMedQA questions (real data: the first 200 of its
1,000 abstracts, each question against all 200).

The index holds the abstract bodies only (no question-as-title), see ``medassist.rag.evaluate``.
About 40 s on an idle 2-core machine (embedding 200 abstracts), once per session; the figures over
all 1,000 are ``bench/bench_rag.py``'s.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.shared_data
N_ABSTRACTS = 200


@pytest.fixture(scope="module")
def pubmedqa_retriever(shared_data, tmp_path_factory, rag_cache):
    from medassist.data import load_pubmedqa
    from medassist.rag import store
    from medassist.rag.config import RagConfig
    from medassist.rag.evaluate import pubmedqa_abstracts
    from medassist.rag.retriever import Retriever

    items = load_pubmedqa(shared_data / "pubmedqa" / "ori_pqal.json")[:N_ABSTRACTS]
    out = tmp_path_factory.mktemp("rag-pubmedqa") / "index"
    store.build(pubmedqa_abstracts(items), out, RagConfig(embedding_cache=rag_cache))
    retriever = Retriever.load(out)
    yield retriever, items
    retriever.close()


def test_hybrid_recall_at_10(pubmedqa_retriever):
    from medassist.rag.evaluate import recall_metrics

    retriever, items = pubmedqa_retriever
    assert len(items) == N_ABSTRACTS and retriever.manifest["documents"] == N_ABSTRACTS
    metrics = recall_metrics(retriever, items, "hybrid", k=10)
    assert metrics["recall_at_10"] >= 0.9, metrics
    assert metrics["recall_at_1"] <= metrics["recall_at_10"]
