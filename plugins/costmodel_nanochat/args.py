"""nanochat's own names: base_train's command-line flags, read as costmodel inputs.

Users paste the flags they run (`--depth=26 --device_batch_size=16`); v0's base_train reads them
with nanochat/configurator.py (`--key=value`, underscores), head's with argparse (`--key value` or
`--key=value`, dashes). Both spellings are accepted. Only flags that change what a run costs are
mapped; the others (learning rates, logging, evaluation of the base model) are listed as ignored.
Values are parsed as Python literals, never executed.

Sources: karpathy/nanochat scripts/base_train.py@fae3aca9519a L29-L52 (v0 user settings) and
scripts/base_train.py@92d63d4e8bb4 L43-L79 (head's argparse flags).
"""

from __future__ import annotations

import ast
import difflib
import shlex
from pathlib import Path

from costmodel.errors import UserError

# flag (underscore spelling) -> costmodel input; a value of -1 means "not set" in base_train
FLAGS = {
    "depth": "depth",
    "aspect_ratio": "aspect_ratio",  # head --aspect-ratio
    "head_dim": "target_head_dim",  # head --head-dim
    "max_seq_len": "seq_len",
    "window_pattern": "window_pattern",  # head
    "num_iterations": "iters",  # explicit horizon (-1: from the data:param ratio)
    "target_flops": "model_flops",  # horizon from a FLOP budget (-1: unused)
    "target_param_data_ratio": "target_param_data_ratio",
    "device_batch_size": "micro_batch",
    "total_batch_size": "total_batch_size",  # head: -1 = the automatic rule
}
# flags base_train reads that change no cost in this model
IGNORED_FLAGS = frozenset({
    "run", "device_type", "embedding_lr", "unembedding_lr", "matrix_lr", "scalar_lr", "weight_decay",
    "grad_clip", "warmup_steps", "warmdown_ratio", "final_lr_frac", "resume_from_step",
    "eval_every", "eval_tokens", "core_metric_every", "core_metric_max_per_task", "sample_every",
    "save_every", "model_tag", "fp8", "fp8_recipe",
})
KEYS = frozenset(FLAGS) | IGNORED_FLAGS
IGNORED = "__ignored__"


def load_args(path: str | None, args: list[str] | tuple[str, ...] = ()) -> dict:
    """`Family.config_loader`: flags from a file (as pasted on a command line), then `args`."""
    words: list[str] = []
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read nanochat flags {path}: {type(exc).__name__}") from None
        words += _split(text, path)
    for arg in args:
        words += _split(arg, "--args") if " " in arg.strip() else [arg]
    settings = _pairs(words)
    out: dict = {}
    ignored = []
    for key, value in settings.items():
        if key in IGNORED_FLAGS:
            ignored.append(key)
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == -1:
            continue  # base_train's "not set"
        out[FLAGS[key]] = value
    if ignored:
        out[IGNORED] = tuple(sorted(ignored))
    return out


def _split(text: str, where: str) -> list[str]:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    try:
        return shlex.split(" ".join(lines))
    except ValueError as exc:
        raise UserError(f"{where}: cannot split the flags: {exc}") from None


def _pairs(words: list[str]) -> dict:
    """`--key=value` or `--key value` pairs, keys in underscore spelling, values as literals."""
    settings: dict = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-"):
            raise UserError(f"nanochat flag {word!r}: write --name=value")
        name, sep, raw = word.lstrip("-").partition("=")
        key = name.replace("-", "_")
        if not sep:
            if i + 1 >= len(words) or words[i + 1].startswith("--"):
                raw = "True"  # a switch (head's --fp8 is store_true)
            else:
                raw = words[i + 1]
                i += 1
        i += 1
        if key not in KEYS:
            close = difflib.get_close_matches(key, sorted(KEYS), n=3, cutoff=0.6)
            hint = f"did you mean: {', '.join(close)}" if close else "not one of base_train's flags"
            raise UserError(f"unknown nanochat flag {word!r}; {hint}")
        settings[key] = _value(raw)
    return settings


def _value(raw: str):
    try:
        value = ast.literal_eval(raw)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return raw
    return value if isinstance(value, (int, float, str, bool)) else raw
