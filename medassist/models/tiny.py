"""The embedded default model: a few-million-parameter Llama built here, offline.

Every part of medassist (QLoRA training, vLLM serving, evaluation, the UI) must run on a
laptop CPU with no model hub, so the project grows its own base model: a byte-level BPE
tokenizer trained on the bundled sample text (plus any dataset files given), a small
``LlamaForCausalLM`` whose linear output sizes are multiples of 32 (bitsandbytes' CPU 4-bit
kernels need that), a short causal-LM warm-up so it is not pure noise, and a chat template
whose assistant turns carry ``{% generation %}`` markers (TRL's ``assistant_only_loss`` needs
them). The result is a normal ``save_pretrained`` folder.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import math
import random
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medassist.data import SAMPLES
from medassist.errors import MedassistError
from medassist.io import atomic_directory
from medassist.manifest import write_manifest

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]

# Role headers, then the content, then <|end|> (which is also EOS, so generation stops at the
# end of the assistant turn). Only the assistant content and its <|end|> are in the loss.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


@dataclass
class TinyConfig:
    """Sizes of the embedded model; every projection's output is a multiple of 32."""

    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 1024
    pretrain_steps: int = 100
    pretrain_batch_size: int = 16
    pretrain_block_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 0
    corpus: list[str] = field(default_factory=list)


PRESETS: dict[str, TinyConfig] = {
    "tiny": TinyConfig(),
    # For unit tests: same architecture, almost no warm-up.
    "test": TinyConfig(pretrain_steps=5, pretrain_batch_size=8),
}


def _strings(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)


def texts_from_file(path: Path) -> Iterator[str]:
    """Every piece of text in a JSON/JSONL/CSV/XML/plain file (format told by its suffixes)."""
    suffixes = [s for s in path.suffixes if s != ".gz"]
    opener = gzip.open if path.suffix == ".gz" else open
    kind = suffixes[-1] if suffixes else ""
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        if kind == ".jsonl":
            for line in handle:
                if line.strip():
                    yield from _strings(json.loads(line))
        elif kind == ".json":
            yield from _strings(json.load(handle))
        elif kind == ".csv":
            for row in csv.reader(handle):
                yield " ".join(row)
        elif kind == ".xml":
            yield from (t.strip() for t in ET.parse(handle).getroot().itertext() if t.strip())
        else:
            yield handle.read()


CORPUS_SUFFIXES = {".json", ".jsonl", ".csv", ".xml", ".txt"}


def default_corpus() -> list[Path]:
    """The bundled sample datasets (data/samples), whose text the tiny model is grown on."""
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix in CORPUS_SUFFIXES)


def collect_texts(paths: Iterable[str | Path]) -> list[str]:
    texts: list[str] = []
    for raw in paths:
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not file.is_file():
                raise MedassistError(f"corpus path not found: {file}")
            try:
                texts.extend(t for t in texts_from_file(file) if t.strip())
            except (json.JSONDecodeError, ET.ParseError, UnicodeDecodeError) as exc:
                raise MedassistError(f"{file}: cannot read as corpus text ({exc})") from exc
    return texts


def train_tokenizer(texts: list[str], vocab_size: int):  # -> PreTrainedTokenizerFast
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|bos|>",
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
        chat_template=CHAT_TEMPLATE,
        model_max_length=1024,
    )


def _pretrain(model, tokenizer, texts: list[str], cfg: TinyConfig) -> list[float]:
    """A short next-token warm-up on the corpus; returns the loss curve."""
    import torch
    from tqdm.auto import tqdm

    if cfg.pretrain_steps <= 0:
        return []
    ids: list[int] = []
    for text in texts:
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids.append(tokenizer.eos_token_id)
    block = cfg.pretrain_block_size
    if len(ids) < block + 1:
        raise MedassistError(f"corpus too small for warm-up: {len(ids)} tokens, need more than {block}")
    data = torch.tensor(ids, dtype=torch.long)
    gen = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.01)
    warmup = max(1, cfg.pretrain_steps // 10)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, cfg.pretrain_steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    model.train()
    losses = []
    bar = tqdm(range(cfg.pretrain_steps), desc="tiny warm-up", unit="step")
    for _ in bar:
        starts = torch.randint(0, len(data) - block - 1, (cfg.pretrain_batch_size,), generator=gen)
        batch = torch.stack([data[s : s + block] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        bar.set_postfix(loss=losses[-1])
    model.eval()
    return losses


def build_tiny(out_dir: str | Path, cfg: TinyConfig | None = None, force: bool = False) -> Path:
    """Train the tokenizer, build and warm up the model, save both to ``out_dir`` atomically."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    cfg = cfg or TinyConfig()
    started = time.perf_counter()
    corpus_files = [Path(p) for p in cfg.corpus] or default_corpus()
    texts = collect_texts(corpus_files)
    if not texts:
        raise MedassistError(f"no text found in corpus {', '.join(map(str, corpus_files)) or '(empty)'}")
    random.Random(cfg.seed).shuffle(texts)
    torch.manual_seed(cfg.seed)

    tokenizer = train_tokenizer(texts, cfg.vocab_size)
    vocab = 32 * math.ceil(len(tokenizer) / 32)  # lm_head rows a multiple of 32 too
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    log.info("tiny model: %.2fM parameters, vocab %d", model.num_parameters() / 1e6, len(tokenizer))
    losses = _pretrain(model, tokenizer, texts, cfg)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id
    )
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, force) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(
            tmp,
            "model-init",
            {k: v for k, v in vars(cfg).items() if k != "corpus"},
            seed=cfg.seed,
            data_files=corpus_files,
            parameters=model.num_parameters(),
            tokenizer_vocab=len(tokenizer),
            warmup_loss_first_last=[losses[0], losses[-1]] if losses else None,
            seconds=round(time.perf_counter() - started, 1),
        )
    log.info("tiny model saved to %s in %.1fs", out_dir, time.perf_counter() - started)
    return out_dir
