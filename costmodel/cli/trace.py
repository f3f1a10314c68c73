"""`costmodel trace`: a model family from the user's own PyTorch model (costmodel.tracing).

The one command that runs user code: the file named on its command line, nothing else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

Target = Annotated[str, typer.Argument(help="FILE.py:FACTORY - the factory builds the model from keyword arguments")]
Vary = Annotated[str, typer.Option("--vary", help="comma-separated factory arguments the formulas keep as names")]
Fixed = Annotated[Optional[list[str]], typer.Option("--fixed", help="NAME=VALUE for a factory argument held constant (repeatable)")]
SeqName = Annotated[Optional[str], typer.Option("--seq-len", help="the factory argument that is the sequence length (default: block_size, seq_len, max_seq_len, ... if the factory has one)")]
Degree = Annotated[Optional[list[str]], typer.Option("--degree", help="NAME=K: the degree bound of a name, instead of the one its scan finds (repeatable)")]
Output = Annotated[Path, typer.Option("--output", "-o", help="the TOML family to write")]
Name = Annotated[Optional[str], typer.Option("--name", help="the family's name (default: the factory's, lower case)")]
Check = Annotated[Optional[list[str]], typer.Option("--check", help="a rule the model's shapes keep to, e.g. \"d_model % n_head == 0\" (repeatable): only shapes that meet it are traced, and the family checks it")]
Seed = Annotated[int, typer.Option("--seed", help="seed of the random shapes")]
Precision = Annotated[str, typer.Option("--precision", help="comma-separated precisions whose activation bytes are traced: fp32 (always), amp-bf16 (CUDA autocast emulated; used for amp-fp16 too), bf16 (the model cast to bf16)")]


def register(app: typer.Typer) -> None:
    app.command()(trace)


def trace(target: Target, vary: Vary, output: Output, fixed: Fixed = None, seq_len: SeqName = None,
          degree: Degree = None, check: Check = None, name: Name = None, seed: Seed = 0,
          precision: Precision = "fp32,amp-bf16") -> None:
    """Trace your own PyTorch model into a model family. RUNS YOUR CODE: the file named here, only.

    trace imports FILE.py (as `python FILE.py` would, so only trace files you trust), builds the model
    on PyTorch's meta device (no weights, no data, no GPU) at many shapes of the --vary names, measures
    parameters, FLOPs and the bytes saved for backward, fits every quantity as an exact polynomial
    (rational arithmetic; refused with the residuals if none fits) and writes a TOML family that
    estimate, solve, explain and plan load with --plugin. No other command ever runs user code.
    Needs PyTorch: pip install 'costmodel[trace]'.

    Example: costmodel trace model.py:build --vary n_layer,n_embd,n_head,vocab_size -o mymodel.toml
    Example: costmodel estimate mymodel --plugin mymodel.toml -H h100-sxm --set micro_batch=8
    """
    from costmodel import tracing
    from costmodel.errors import UserError

    tracing.need_torch()
    from costmodel.api import registry
    from costmodel.tracing.family import recipes_text, to_toml

    fixed_values = dict(_pair(p, "--fixed") for p in fixed or ())
    degrees = {}
    for text in degree or ():
        k, v = _pair(text, "--degree")
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise UserError(f"--degree {text}: give NAME=K with K a whole number >= 0")
        degrees[k] = v
    names = [n.strip() for n in vary.split(",") if n.strip()]
    precisions = tracing.check_precisions(precision.split(","))
    sys.stderr.write(f"note: trace runs your code: {target.rpartition(':')[0]}\n")
    traced = tracing.trace(target, names, fixed_values, seq_name=seq_len, degrees=degrees, seed=seed,
                           checks=check or (), precisions=precisions,
                           log=lambda text: sys.stderr.write(f"note: {text}\n"))
    family = name or traced.factory.lower()
    try:
        text = to_toml(traced, family, registry().quantities)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        output.write_text(text)
    except OSError as exc:
        raise UserError(f"{output}: cannot write: {exc.strerror}") from None
    sys.stderr.write(f"note: traced {len(traced.formulas)} quantities at {traced.n_fit + traced.n_held_out} "
                     f"shapes in {traced.seconds:.1f} s\n")
    sys.stderr.write(f"note: traced activation bytes (eager, no checkpointing, full weights) are used under "
                     f"{recipes_text(traced)}; under other recipes the memory model's generic formulas of the "
                     "identified features apply\n")
    sys.stdout.write(f"wrote {output}: family {family!r}; use it with --plugin {output}\n")


def _pair(text: str, option: str):
    from costmodel.errors import UserError

    key, sep, value = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise UserError(f"{option} {text!r}: give NAME=VALUE")
    return key.strip(), _literal(value.strip())


def _literal(text: str):
    """A number, true/false or text: parsed, never evaluated."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
