"""nanoGPT config files and `--key=value` overrides, read by parsing and never by executing.

nanoGPT's configurator.py runs a config file with exec() and overrides train.py's globals with
`--key=value` arguments (karpathy/nanoGPT configurator.py@3adf61e154c3 L20-L47). We take the same
files and arguments but only parse them:

- A file may hold top-level `key = literal` assignments (numbers, strings, booleans, None and
  arithmetic of those such as `5 * 8`), `import time`, comments and bare strings. Nothing else.
- A value that is not a literal (`'ft-' + str(time.time())` in config/finetune_shakespeare.py) is
  skipped when its key does not change the cost (wandb_*, out_dir, ...; see upstream.COST_KEYS),
  and is a one-line UserError naming the file, line and key when it does.
- Every key must be one of train.py's config keys (nanoGPT silently ignores a misspelled one, which
  then trains a model nobody asked for); an unknown key is a UserError with the closest names.
- `--key=value`: the value is a Python literal, else the plain string, and its type must be the
  type of train.py's default, as configurator.py L32-L43 demands (`--compile=0` is refused).

The result maps onto costmodel's names: batch_size -> micro_batch, block_size -> seq_len,
n_layer/n_head/n_embd/bias, eval_interval/eval_iters and dropout as they are, dtype and device ->
precision, compile -> compile; the other keys are listed as ignored (they change no cost);
max_iters and gradient_accumulation_steps keep nanoGPT's names because the family turns them
into iters and grad_accum by formulas (see __init__.py). Only what the file or the overrides set is
returned: the family's defaults already are train.py's defaults.
"""

from __future__ import annotations

import ast
import difflib
import operator

from costmodel import files
from costmodel.errors import UserError

from costmodel_nanogpt import upstream

Value = int | float | bool | str


def load_config(path: str | None, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Value]:
    """`Family.config_loader`: a nanoGPT config file, then its overrides, in costmodel's names."""
    settings: dict[str, Value] = {}
    if path is not None:
        settings.update(read_config_file(path))
    for arg in overrides:
        key, value = parse_override(arg)
        settings[key] = value
    out = to_canonical(settings)
    ignored = sorted(k for k in settings if k not in upstream.COST_KEYS)
    if ignored:
        out[IGNORED] = tuple(ignored)
    return out


IGNORED = "__ignored__"  # the keys read but not modelled (the scenario lists them in a note)


# --- the config file -------------------------------------------------------------------------


def read_config_file(path: str) -> dict[str, Value]:
    """The literal assignments of a nanoGPT config file, as {train.py key: value}."""
    text = files.read_text(path, "nanoGPT config", "config")
    return read_config_text(text, path)


def read_config_text(text: str, path: str) -> dict[str, Value]:
    """The literal assignments of a config file's text (`path` names it in errors; a training log
    that printed the file passes its own name and line)."""
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else path
        raise UserError(f"{where}: not valid Python: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise UserError(f"{path}: not valid Python: {type(exc).__name__}") from None

    settings: dict[str, Value] = {}
    for stmt in tree.body:
        where = f"{path}:{stmt.lineno}"
        if _ignorable(stmt):
            continue
        if not isinstance(stmt, ast.Assign) or not all(isinstance(t, ast.Name) for t in stmt.targets):
            raise UserError(
                f"{where}: costmodel reads only `key = literal` lines of a nanoGPT config, "
                f"not {_describe(stmt)}"
            )
        for target in stmt.targets:
            key = target.id
            _known_key(key, where)
            try:
                value = _literal(stmt.value)
            except _NotLiteral as exc:
                if key in upstream.COST_KEYS:
                    raise UserError(
                        f"{where}: {key} = {_shown(stmt.value)} is not a literal ({exc}); "
                        f"costmodel parses config files without running them, write the value"
                    ) from None
                continue  # a key the cost does not depend on: nanoGPT would compute it, we skip it
            if key in upstream.COST_KEYS:
                _same_type(key, value, where)
            settings[key] = value
    return settings


def _ignorable(stmt: ast.stmt) -> bool:
    """`import time` (config/finetune_shakespeare.py L1), `pass`, a docstring or bare string."""
    if isinstance(stmt, ast.Import):
        return all(alias.name == "time" and alias.asname is None for alias in stmt.names)
    if isinstance(stmt, ast.Expr):
        return isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
    return isinstance(stmt, ast.Pass)


class _NotLiteral(Exception):
    """A value that only running Python could produce."""


_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _literal(node: ast.AST) -> Value | None:
    """A constant, or arithmetic of number constants (`5 * 8`), or `'a' + 'b'`; else _NotLiteral."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (type(None), bool, int, float, str)):
        return _bounded(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal(node.operand)
        if _is_number(operand):
            return -operand if isinstance(node.op, ast.USub) else +operand
        raise _NotLiteral("a sign in front of something that is not a number")
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _literal(node.left), _literal(node.right)
        numbers = _is_number(left) and _is_number(right)
        strings = isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str)
        if not (numbers or strings):
            raise _NotLiteral("arithmetic on values that are not both numbers")
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise _NotLiteral("an exponent above 64")
        try:
            return _bounded(_ARITHMETIC[type(node.op)](left, right))
        except ArithmeticError as exc:
            raise _NotLiteral(str(exc)) from None
    raise _NotLiteral(f"it needs {_describe(node)}")


def _bounded(value: Value) -> Value:
    """Integers beyond 2**128 (no setting is that large) are refused before arithmetic on them."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        raise _NotLiteral("an integer beyond 2**128")
    return value


def _shown(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(node: ast.AST) -> str:
    """'a call to str()', 'a name (max_iters)', 'an if statement' ... for one-line messages."""
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        return f"a call to {name}()"
    if isinstance(node, ast.Name):
        return f"the variable {node.id}"
    if isinstance(node, ast.Attribute):
        return f"the attribute {ast.unparse(node)}"
    words = {
        ast.If: "an if statement",
        ast.For: "a for loop",
        ast.AugAssign: "an augmented assignment",
        ast.AnnAssign: "an annotated assignment",
        ast.FunctionDef: "a function definition",
        ast.ImportFrom: "a from-import",
        ast.Import: "an import other than `import time`",
    }
    return words.get(type(node), f"a {type(node).__name__} node")


# --- the overrides -----------------------------------------------------------------------------


def parse_override(arg: str) -> tuple[str, Value]:
    """`--key=value` (the `--` may be left out) as configurator.py L29-L45 reads it."""
    text = arg[2:] if arg.startswith("--") else arg
    if "=" not in text:
        raise UserError(f"nanoGPT override {arg!r} is not of the form --key=value")
    key, _, raw = text.partition("=")
    if "=" in raw:  # configurator.py L32 splits on every '=' and fails on a second one
        raise UserError(f"nanoGPT override {arg!r} has more than one '='")
    _known_key(key, f"override {arg!r}")
    try:
        value = ast.literal_eval(raw)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        value = raw  # configurator.py L38-L40: not a literal, so the plain string
    _same_type(key, value, f"override {arg!r}")
    return key, value


# --- checks shared by both -------------------------------------------------------------------


def _known_key(key: str, where: str) -> None:
    if key in upstream.TRAIN_DEFAULTS:
        return
    close = difflib.get_close_matches(key, list(upstream.TRAIN_DEFAULTS), n=3, cutoff=0.6)
    hint = f"did you mean: {', '.join(close)}" if close else "not one of train.py's config keys"
    raise UserError(f"{where}: unknown nanoGPT config key {key!r}; {hint}")


def _same_type(key: str, value: object, where: str) -> None:
    default = upstream.TRAIN_DEFAULTS[key]
    if type(value) is not type(default):
        raise UserError(
            f"{where}: {key} must be a {type(default).__name__} like train.py's default "
            f"{default!r}, not {value!r}"
        )


# --- train.py's names to costmodel's ---------------------------------------------------------


def to_canonical(settings: dict[str, Value]) -> dict[str, Value]:
    """The inputs that a set of train.py keys fixes, in costmodel's names (train.py L81-L192)."""
    out: dict[str, Value] = {}
    renamed = {
        "batch_size": "micro_batch",
        "block_size": "seq_len",
        "n_layer": "n_layer",
        "n_head": "n_head",
        "n_embd": "n_embd",
        "bias": "bias",
        "compile": "compile",
        "max_iters": "max_iters",  # iters = max_iters + 1: a family formula
        "gradient_accumulation_steps": "gradient_accumulation_steps",  # grad_accum: a formula
        "eval_interval": "eval_interval",  # steps between evaluations (train.py L263)
        "eval_iters": "eval_iters",  # batches per split and evaluation (train.py L216-L228)
        "dropout": "dropout",  # masks kept for backward when > 0 (model.py L38-L39)
    }
    for key, name in renamed.items():
        if key in settings:
            out[name] = settings[key]

    init_from = settings.get("init_from", "scratch")
    dataset = settings.get("dataset")
    if init_from in ("scratch", "resume"):
        # 'resume' takes the shape from a checkpoint we cannot see; we assume the file describes it
        if dataset in upstream.META_VOCAB:
            out["vocab_size"] = upstream.META_VOCAB[dataset]
        elif dataset in upstream.BPE_DATASETS:
            out["vocab_size"] = upstream.PADDED_GPT2_VOCAB
    elif init_from in upstream.GPT2_CHECKPOINTS:
        # from_pretrained ignores n_layer/n_head/n_embd/bias of the file (model.py L216-L225) and
        # train.py crops the 1024 positions down to block_size (train.py L189-L192)
        out.update(upstream.GPT2_CHECKPOINTS[init_from])
        out["vocab_size"] = upstream.GPT2_VOCAB
        out["bias"] = upstream.GPT2_BIAS
        block = settings.get("block_size", upstream.TRAIN_DEFAULTS["block_size"])
        if block > upstream.GPT2_BLOCK_SIZE:
            raise UserError(
                f"block_size {block} is longer than the {upstream.GPT2_BLOCK_SIZE} positions of the "
                f"{init_from} checkpoint (model.py L173 refuses longer sequences)"
            )
        out["seq_len"] = block
    else:
        names = ", ".join(["scratch", "resume", *upstream.GPT2_CHECKPOINTS])
        raise UserError(f"init_from {init_from!r} is not one of train.py's: {names}")

    if "dtype" in settings or "device" in settings:
        dtype = settings.get("dtype", upstream.TRAIN_DEFAULTS["dtype"])
        device = settings.get("device", upstream.TRAIN_DEFAULTS["device"])
        if dtype not in upstream.DTYPE_PRECISION:
            names = ", ".join(upstream.DTYPE_PRECISION)
            raise UserError(f"dtype {dtype!r} is not one of train.py's: {names}")
        # train.py L109-L112: autocast only where the device name contains 'cuda'; else plain fp32
        out["precision"] = upstream.DTYPE_PRECISION[dtype] if "cuda" in device else "fp32"
    return out
