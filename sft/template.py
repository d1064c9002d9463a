"""Loss on the assistant's tokens only, with the model's own chat template, whatever it is.

TRL's ``assistant_only_loss`` needs ``{% generation %}`` markers in the template, and TRL 1.16
adds them only to the templates it knows (Qwen2.5, Llama-3, Qwen3, Phi-3, Gemma-3 ...): SmolLM2's
ChatML, Llama-3.1 and Mistral fail with "the chat template is not training-compatible". TRL's
*conversational prompt/completion* format needs no markers: it renders the prompt with the
generation prompt, then prompt + completion, and trains on the tokens the completion adds. So
each chat example becomes one prompt/completion pair per assistant turn, and the tokenizer's
template is never changed: the one saved with the adapter and the merged model is the one the
model is served with.

``check_chat_template`` proves, before any weights load, that the template supports this; a
template that does not (none at all, one that rejects a role we send, one whose prompt is not a
prefix of the full conversation, one that never closes the assistant turn with EOS) fails with
one message saying what to do. ``chat_template_path`` in the recipe supplies a replacement.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medassist.errors import MedassistError
from medassist.resources import bundled

FIX = ("set chat_template_path in the recipe (or --chat-template-path) to a Jinja template that renders system, "
       "user and assistant turns and ends each assistant turn with the EOS token")


def to_prompt_completion(messages: list[dict[str, str]]) -> list[dict[str, list[dict[str, str]]]]:
    """One ``{"prompt": [...], "completion": [assistant turn]}`` per assistant turn of a chat.

    Multi-turn chats thus train every assistant turn, each after the history it answered.
    """
    return [{"prompt": messages[:i], "completion": [message]}
            for i, message in enumerate(messages) if message["role"] == "assistant" and i > 0]


def load_chat_template(tokenizer: Any, path: str | Path) -> None:
    """Replace the tokenizer's template with the Jinja file at ``path`` (saved with the outputs)."""
    path = bundled(path)
    if not path.is_file():
        raise MedassistError(f"chat_template_path: {str(path)!r} is not a file (expected a Jinja chat template)")
    tokenizer.chat_template = path.read_text(encoding="utf-8")


def _ids(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                              add_generation_prompt=add_generation_prompt)["input_ids"])


def check_chat_template(tokenizer: Any, pairs: Iterable[dict[str, list[dict[str, str]]]], model: str) -> None:
    """Fail before training unless the prompt/completion split gives a correct loss mask, checked on the
    first pair of every distinct sequence of roles in ``pairs``."""
    if not getattr(tokenizer, "chat_template", None):
        raise MedassistError(f"model {model!r}: its tokenizer has no chat template; {FIX}")
    seen: set[tuple[str, ...]] = set()
    for pair in pairs:
        roles = tuple(m["role"] for m in pair["prompt"] + pair["completion"])
        if roles not in seen:
            seen.add(roles)
            _check_pair(tokenizer, pair, model)


def _check_pair(tokenizer: Any, pair: dict[str, list[dict[str, str]]], model: str) -> None:
    prompt, completion = pair["prompt"], pair["completion"]
    try:
        prompt_ids = _ids(tokenizer, prompt, add_generation_prompt=True)
        full_ids = _ids(tokenizer, prompt + completion, add_generation_prompt=False)
    except Exception as exc:  # jinja2's TemplateError, or raise_exception() inside the template
        roles = "/".join(m["role"] for m in prompt + completion)
        raise MedassistError(f"model {model!r}: its chat template cannot render a {roles} conversation "
                             f"({exc.__class__.__name__}: {exc}); {FIX}") from exc
    if full_ids[: len(prompt_ids)] != prompt_ids:
        split = next(i for i, (a, b) in enumerate(zip(prompt_ids, full_ids, strict=False)) if a != b)
        raise MedassistError(
            f"model {model!r}: its chat template renders the prompt differently once the answer follows "
            f"(prompt alone: {tokenizer.decode(prompt_ids[split:split + 12])!r}, with the answer: "
            f"{tokenizer.decode(full_ids[split:split + 12])!r}), so the answer's tokens cannot be told apart; {FIX}")
    trained = tokenizer.decode(full_ids[len(prompt_ids):])
    answer = completion[-1]["content"].strip()
    if answer not in trained:
        raise MedassistError(f"model {model!r}: the answer is not where its chat template puts the completion "
                             f"(trained text: {trained[:80]!r}); {FIX}")
    eos = tokenizer.eos_token_id
    if eos is None or eos not in full_ids[len(prompt_ids):]:
        raise MedassistError(f"model {model!r}: its chat template does not end the assistant turn with the EOS token "
                             f"{tokenizer.eos_token!r} (trained text ends {trained[-40:]!r}), so the model would never "
                             f"learn to stop; {FIX}")
