"""The score attribution explains, computed in-process with transformers: log P(condition named first | case).

The prompt is the one ``/v1/diagnose`` sends: the shared system prompt and ``case_user_prompt``
(``data.prompts.chat_messages``) through the model's own chat template, then the start of the
trained answer (``data.attribution.ANSWER_PREFIX``); the condition's name and closing quote are
scored teacher-forced (data/attribution.py says why this score).

Why not lm-eval's ``hf`` model, which eval/loglik.py scores options with: attribution scores
many perturbations of one case, which share most of their prompt (the system prompt, the chat
header, every finding before the one left out). lm-eval runs each request from its first token;
here the key/value cache of the first case of a call (the full case, ``attribute`` and the
deletion test put it first) is reused up to the first token where a perturbation differs;
perturbations scored for one condition run ``batch_size`` to a call (on a CPU each call costs a
fixed ~0.15 s on top of its tokens), and several conditions of one case run as one batch on its
cache. On SmolLM2-135M with one CPU thread
that roughly halves the tokens run per patient, which is what fits the deletion test on 200
patients into the time a CPU allows. Results equal a plain forward pass up to float rounding
(tests/test_attribution.py checks it).

It lives in ``medassist/`` because two parts use it: eval's deletion test and the gateway's local
engine (``serve/engines/local.py``: ``score_ids`` on prompts its own chat template rendered), and
serve must not import eval.

Memory: the model, plus one cache of the anchor case (layers x 2 x prompt tokens x kv width).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from medassist.data.answers.differential import case_user_prompt
from medassist.data.attribution import ANSWER_PREFIX, condition_continuation
from medassist.data.prompts import chat_messages

log = logging.getLogger(__name__)

MAX_NAME_TOKENS = 32  # a condition name longer than this is cut when the model's top condition is read


@dataclass
class ConditionScorer:
    """A ``data.attribution.Scorer`` over a loaded causal LM and its tokenizer (``load`` builds one)."""

    model: Any
    tokenizer: Any
    batch_size: int = 4  # perturbations run together (one model call: on a CPU the per-call cost is large)
    _anchor: tuple[list[int], Any] | None = field(default=None, init=False, repr=False)  # (prompt ids, kv cache)
    _quote_tokens: list[int] | None = field(default=None, init=False, repr=False)

    @classmethod
    def load(
        cls, model_path: str, adapter: str | None = None, dtype: str = "float32", batch_size: int = 4
    ) -> ConditionScorer:
        """The model (a PEFT adapter merged into it: one matmul per layer instead of three) and the
        tokenizer the adapter was saved with, else the base model's."""
        import torch

        from medassist.hub import load_model, load_tokenizer, tokenizer_source

        model = load_model(model_path, adapter=adapter, dtype=getattr(torch, dtype))
        if adapter:
            model = model.merge_and_unload()
        tokenizer = load_tokenizer(tokenizer_source(model_path, adapter))
        return cls(model.eval(), tokenizer, batch_size)

    def prompt_ids(self, vignette: str) -> list[int]:
        """The case's tokens up to and including ``ANSWER_PREFIX``."""
        text = self.tokenizer.apply_chat_template(
            chat_messages(case_user_prompt(vignette)), add_generation_prompt=True, tokenize=False
        )
        return self.tokenizer(text + ANSWER_PREFIX, add_special_tokens=False)["input_ids"]

    def continuation_ids(self, condition: str) -> list[int]:
        # tokenised on its own: the byte-level BPE of these models never merges the JSON quote before
        # it with a name's first letter, so this equals the tokens of the whole answer
        return self.tokenizer(condition_continuation(condition), add_special_tokens=False)["input_ids"]

    def __call__(self, cases: list[str], conditions: list[str]) -> list[float]:
        """log P(``conditions[i]`` named first | ``cases[i]``) for every i. The first case anchors the
        cache the others reuse: put the full case first and its perturbations after it."""
        if len(cases) != len(conditions):
            raise ValueError(f"{len(cases)} cases but {len(conditions)} conditions")
        return self.score_ids([self.prompt_ids(c) for c in cases], [self.continuation_ids(c) for c in conditions])

    def score_ids(self, prompts: list[list[int]], continuations: list[list[int]]) -> list[float]:
        """The sum of ``continuations[i]``'s token log-probabilities after ``prompts[i]``, for every i
        (the server's local engine calls this with prompts its own chat template rendered). The first
        prompt anchors the cache the others reuse."""
        if len(prompts) != len(continuations):
            raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
        if any(not c for c in continuations):
            raise ValueError("an empty continuation has no score")
        wanted: dict[tuple[int, ...], list[int]] = {}
        for i, ids in enumerate(prompts):
            wanted.setdefault(tuple(ids), []).append(i)
        scores = [0.0] * len(prompts)
        singles: list[tuple[list[int], list[int], int]] = []  # (case ids, continuation ids, row)
        for n, (key, rows) in enumerate(wanted.items()):
            ids = list(key)
            if n > 0 and len(rows) == 1:  # one condition (the deletion test's shape): batched below
                singles.append((ids, continuations[rows[0]], rows[0]))
                continue
            for row, score in zip(rows, self._score_case(ids, [continuations[r] for r in rows], n == 0), strict=True):
                scores[row] = score
        # most shared prefix first, so a batch's rows share about as much as each would alone
        singles.sort(key=lambda item: -self._shared(item[0]))
        for start in range(0, len(singles), self.batch_size):
            chunk = singles[start : start + self.batch_size]
            for (_, _, row), score in zip(chunk, self._score_batch([(i, c) for i, c, _ in chunk]), strict=True):
                scores[row] = score
        return scores

    def top_condition(self, vignette: str) -> str:
        """The condition the model names first (greedy), as ``/v1/diagnose`` would; the case becomes the anchor."""
        import torch

        ids = self.prompt_ids(vignette)
        with torch.inference_mode():
            out = self.model.generate(
                torch.tensor([ids], device=self.model.device),
                max_new_tokens=MAX_NAME_TOKENS,
                do_sample=False,
                eos_token_id=self._quotes(),
                pad_token_id=self.tokenizer.pad_token_id,
                return_dict_in_generate=True,
            )
        text = self.tokenizer.decode(out.sequences[0, len(ids) :], skip_special_tokens=True)
        self._anchor = (ids, out.past_key_values)
        return text.split('"', 1)[0].strip()

    # ------------------------------------------------------------------ internals
    def _quotes(self) -> list[int]:
        """Every token holding a double quote: greedy decoding stops at the one that closes the name
        (cheaper than ``stop_strings``, which matches strings after every step)."""
        if self._quote_tokens is None:
            vocab = range(len(self.tokenizer))
            self._quote_tokens = [t for t in vocab if '"' in self.tokenizer.decode([t])]
            self._quote_tokens += [self.tokenizer.eos_token_id] if self.tokenizer.eos_token_id is not None else []
        return self._quote_tokens

    def _shared(self, ids: list[int]) -> int:
        """How many leading tokens ``ids`` shares with the anchor (at most all but its last)."""
        if self._anchor is None:
            return 0
        anchor_ids, anchor_cache = self._anchor
        shared = 0
        for a, b in zip(anchor_ids, ids, strict=False):
            if a != b:
                break
            shared += 1
        return min(shared, len(ids) - 1, anchor_cache.get_seq_length())

    def _score_batch(self, items: list[tuple[list[int], list[int]]]) -> list[float]:
        """One condition on each of several cases in one call: each row is the case past the prefix the
        whole batch shares with the anchor, then its continuation; right padding is never attended to
        by the real tokens before it (causal), so no mask is needed."""
        import torch

        shared = min(self._shared(ids) for ids, _ in items)
        cache = self._cropped(shared)
        rows = [ids[shared:] + cont[:-1] for ids, cont in items]
        longest = max(map(len, rows))
        pad = self.tokenizer.pad_token_id or 0
        starts = [len(ids) - shared - 1 for ids, _ in items]  # the position whose logits give cont[0]
        keep = sorted({s + j for s, (_, cont) in zip(starts, items, strict=True) for j in range(len(cont))})
        column = {position: n for n, position in enumerate(keep)}
        with torch.inference_mode():
            if cache is not None:
                cache.batch_repeat_interleave(len(items))
            batch = torch.tensor([r + [pad] * (longest - len(r)) for r in rows], device=self.model.device)
            out = self.model(batch, past_key_values=cache, use_cache=True, logits_to_keep=torch.tensor(keep))
            logp = torch.log_softmax(out.logits.float(), dim=-1)
        return [
            float(sum(logp[n, column[start + j], token] for j, token in enumerate(cont)))
            for n, (start, (_, cont)) in enumerate(zip(starts, items, strict=True))
        ]

    def _score_case(self, ids: list[int], conts: list[list[int]], anchor: bool) -> list[float]:
        import torch

        device = self.model.device
        with torch.inference_mode():
            shared = self._shared(ids)
            cache = self._cropped(shared)
            # one condition: its continuation runs in the same pass as the case
            tail = conts[0][:-1] if len(conts) == 1 else []
            out = self.model(
                torch.tensor([ids[shared:] + tail], device=device),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=len(tail) + 1,
            )
            cache = out.past_key_values
            if anchor and (self._anchor is None or self._anchor[0] != ids):
                kept = copy.deepcopy(cache)
                if tail:
                    kept.crop(-len(tail))
                self._anchor = (ids, kept)
            logp = torch.log_softmax(out.logits[0].float(), dim=-1)
            if len(conts) == 1:
                return [float(sum(logp[j, token] for j, token in enumerate(conts[0])))]
            scores = [float(logp[-1, c[0]]) for c in conts]
            longest = max(len(c) for c in conts)
            if longest == 1:
                return scores
            # the rest of every continuation in one batch on the case's cache; right padding is never
            # attended to by the real tokens before it (causal), so no mask is needed
            pad = self.tokenizer.pad_token_id or 0
            batch = torch.tensor([c[:-1] + [pad] * (longest - len(c)) for c in conts], device=device)
            cache.batch_repeat_interleave(len(conts))
            logp = torch.log_softmax(self.model(batch, past_key_values=cache, use_cache=True).logits.float(), dim=-1)
            for n, c in enumerate(conts):
                scores[n] += float(sum(logp[n, j - 1, c[j]] for j in range(1, len(c))))
        return scores

    def _cropped(self, shared: int) -> Any:
        """A copy of the anchor's cache cut to its first ``shared`` tokens (None for none)."""
        if shared == 0 or self._anchor is None:
            return None
        cache = copy.deepcopy(self._anchor[1])
        cache.crop(shared - cache.get_seq_length())  # a count to remove (transformers 5)
        return cache
