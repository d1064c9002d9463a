"""Loading models and tokenizers by local path or hub id, with errors a user can act on.

The same code path serves the embedded tiny model (a local folder) and real models
(``Qwen/Qwen2.5-7B-Instruct`` ...). Offline, a hub id that is not cached fails with a message
saying how to fetch it instead of a long ``OSError`` chain.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from medassist.errors import MedassistError

Quantization = Literal["none", "4bit", "8bit"]


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def native_bf16(cuda: bool | None = None) -> bool:
    """Whether bf16 arithmetic runs natively here: a CUDA GPU that has it, or a CPU with AVX512-BF16
    or AMX tiles. Elsewhere torch emulates bf16 on the CPU, many times slower than fp32 (a LoRA step
    of SmolLM2 went from 12 s to minutes), so training and serving stay in fp32 there."""
    import torch

    if has_cuda() if cuda is None else cuda:
        return torch.cuda.is_bf16_supported()
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch's own CPU feature checks
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def unavailable_model_error(name: str, exc: Exception) -> MedassistError:
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")):
        return MedassistError(
            f"model path {name!r} is not a loadable model folder ({exc.__class__.__name__}: {exc}); "
            "expected config.json + weights + tokenizer files as written by save_pretrained"
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    how = (
        f"run `hf download {name}` on a machine with internet (then copy the cache or the folder here) "
        "and pass --model /path/to/folder"
    )
    state = "HF_HUB_OFFLINE=1 and it is not in the local cache" if offline else "it could not be fetched"
    return MedassistError(f"model {name!r} is not available: {state}. To use it, {how}.")


def model_reachable(name: str) -> bool:
    """A local folder, a cached hub id, or (online) any hub id: checked before any heavy work."""
    if Path(name).expanduser().is_dir():
        return True
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        return False
    if os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false"):
        return True
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)


def require_model(name: str, field: str) -> None:
    """Fail before training or serving starts when ``name`` cannot be loaded here."""
    if not model_reachable(name):
        raise MedassistError(
            f"{field}: {name!r} is neither a local model folder nor a cached hub model (HF_HUB_OFFLINE=1); "
            "build the embedded one with `medassist model init` (SmolLM2-135M-Instruct, into "
            "artifacts/base-smollm2-135m), "
            "or pass a folder written by save_pretrained"
        )


def quantization_config(mode: Quantization, compute_dtype: Any = None) -> Any:
    """QLoRA's bitsandbytes config: NF4 with double quantisation (bf16 compute on CUDA)."""
    if mode == "none":
        return None
    if mode not in ("4bit", "8bit"):
        raise MedassistError(f"quantization: {mode!r} is not one of 4bit, 8bit, none")
    import torch
    from transformers import BitsAndBytesConfig

    if mode == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if compute_dtype is None:
        compute_dtype = torch.bfloat16 if has_cuda() else torch.float32
    # On CUDA the packed 4-bit weights are stored in the model's float dtype rather than uint8: FSDP
    # only shards float tensors, all of one dtype (bitsandbytes' FSDP-QLoRA guide); single-GPU and
    # DDP runs do not care. The CPU path keeps uint8, the layout measured in ../shared/STACK.md.
    storage = {"bnb_4bit_quant_storage": compute_dtype} if has_cuda() else {}
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
        **storage,
    )


def context_length(name_or_path: str | Path) -> int | None:
    """The model's own context window from its config.json (``max_position_embeddings``, or the
    text model's for a multimodal config); None when the config does not say."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(name_or_path))
    except (OSError, ValueError) as exc:
        raise unavailable_model_error(str(name_or_path), exc) from exc
    config = getattr(config, "text_config", None) or config
    value = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    return int(value) if value else None


def tokenizer_source(model: str | Path, adapter: str | Path | None) -> str:
    """Where the tokenizer of ``model`` + ``adapter`` comes from: the adapter folder when training
    saved one there (its chat template and any added tokens are the ones the adapter learned),
    else the model."""
    return str(adapter) if adapter and (Path(adapter) / "tokenizer_config.json").is_file() else str(model)


def load_tokenizer(name_or_path: str | Path) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
    except (OSError, ValueError) as exc:
        raise unavailable_model_error(str(name_or_path), exc) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    name_or_path: str | Path,
    adapter: str | Path | None = None,
    quantization: Quantization = "none",
    dtype: Any = None,
    device_map: Any = "default",
    attn_implementation: str | None = None,
    compute_dtype: Any = None,
) -> Any:
    """A causal LM ready for generation, optionally with a PEFT adapter on top.

    ``compute_dtype`` is the 4-bit layers' arithmetic (default: bf16 on CUDA, else fp32);
    ``device_map`` overrides the default placement: training under ``accelerate launch`` puts each
    process's copy on its own GPU (``{"": local_rank}``), and FSDP / ZeRO-3 need none at all (None).
    """
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    qconfig = quantization_config(quantization, compute_dtype)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
        kwargs["device_map"] = "auto" if has_cuda() else "cpu"
    elif has_cuda():
        kwargs["device_map"] = "auto"
    kwargs["dtype"] = dtype or (torch.bfloat16 if has_cuda() else torch.float32)
    if device_map != "default":
        kwargs["device_map"] = device_map
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(str(name_or_path), **kwargs)
    except (OSError, ValueError) as exc:
        raise unavailable_model_error(str(name_or_path), exc) from exc
    if adapter is not None:
        from peft import PeftModel

        if not (Path(adapter) / "adapter_config.json").is_file():
            raise MedassistError(f"adapter {adapter}: no adapter_config.json (expected a PEFT adapter folder)")
        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    return model


def greedy_chat(model: Any, tokenizer: Any, conversations: list[list[dict[str, Any]]],
                max_new_tokens: int) -> list[str]:
    """Greedy answers to a batch of chats, in the tokenizer's chat template: what the training
    probes and eval's in-process backend generate with.

    Prompts are padded on the left (generation continues them all at their end) and one longer
    than the model's context keeps its end: the question and the instruction to answer. The
    model's training mode and the tokenizer's padding sides are restored afterwards, as the
    trainer goes on with them.
    """
    import torch

    context = getattr(model.config, "max_position_embeddings", 2048)
    prompts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    sides = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side = tokenizer.truncation_side = "left"
    try:
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, truncation=True,
                           max_length=context - max_new_tokens, add_special_tokens=False).to(model.device)
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = sides
    was_training = model.training
    model.eval()
    try:
        # no_grad, not inference_mode: during training, a tensor a module caches here must stay usable by autograd
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
    finally:
        model.train(was_training)
    return tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
