"""Chunking in the document encoder's word pieces: the fast length count (the tokenizer's Rust
backend, padding and truncation off) splits exactly as LangChain's own ``from_huggingface_tokenizer``
splitter does, on the packaged abstracts and on long, multi-paragraph and non-Latin text, and leaves
the encoder's tokenizer as it was."""

from __future__ import annotations

import pytest
from langchain_text_splitters import RecursiveCharacterTextSplitter

from medassist.data import SAMPLES
from medassist.data.pubmed import iter_pubmed
from medassist.rag.chunking import make_splitter
from medassist.rag.config import RagConfig
from medassist.rag.embed import load_encoder


@pytest.fixture(scope="module")
def tokenizer():
    config = RagConfig()
    return load_encoder(config.embedding_model, config.device, config.pooling).tokenizer


def texts() -> list[str]:
    abstracts = [a.abstract for a in iter_pubmed(SAMPLES / "pubmed_sample.jsonl")]
    long = " ".join(abstracts)  # several abstracts in one: split many times
    return [*abstracts, long, "\n\n".join(abstracts[:4]),
            "Serum 25(OH)D < 30 ng/mL; µg/kg/min; α-synuclein, β2-microglobulin – and “quotes”. " * 30,
            "患者男性，59岁，胸痛两小时，既往高血压病史。心电图示ST段抬高，肌钙蛋白升高。" * 25, ""]


@pytest.mark.parametrize(("size", "overlap"), [(RagConfig().chunk_tokens, RagConfig().chunk_overlap_tokens), (40, 8)])
def test_fast_count_splits_exactly_as_the_tokenizers_own(tokenizer, size, overlap):
    reference = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer, chunk_size=size,
                                                                        chunk_overlap=overlap)
    fast = make_splitter(tokenizer, size, overlap)
    split_any = False
    for text in texts():
        pieces = fast.split_text(text)
        assert pieces == reference.split_text(text)
        split_any |= len(pieces) > 1
        assert all(len(tokenizer.tokenize(p)) <= size for p in pieces if " " in p)  # a single word may exceed
    assert split_any


def test_the_encoders_tokenizer_still_pads_and_truncates_as_before(tokenizer):
    backend = tokenizer.backend_tokenizer
    before = (backend.truncation, backend.padding)
    make_splitter(tokenizer, 64, 8).split_text(" ".join(texts()))
    assert (backend.truncation, backend.padding) == before
