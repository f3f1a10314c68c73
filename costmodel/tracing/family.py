"""A traced model as a TOML family (the format of docs/plugins.md, read by costmodel.toml_files).

What it declares:
- the varied names as the family's own quantities (unless costmodel's vocabulary has them), with
  the factory's defaults;
- the shapes of the vocabulary (n_layer, d_model, n_head, n_kv_head, head_dim, vocab_size, d_ff)
  and the architecture features it identified (mlp, norm, positions, tied_embeddings, biases, ...):
  constants in [defaults], fitted formulas where they follow a varied name. The memory and time
  plugins need nothing else;
- the traced formulas, each citing the file and its sha256: the parameter groups and n_params,
  flops_per_token_exact (for the attention the model runs), and what eager training without
  checkpointing saves for backward under each traced precision (fp32; amp-bf16, which stands for
  amp-fp16 too; bf16): act_layer per layer and token, act_outside per token, mem_mask per layer
  (tensors that do not grow with the micro-batch), mem_logits_saved (inside the loss) and, under
  autocast, mem_weight_copies. Under any other recipe the generic formulas of the features apply.
- the rules the traced shapes keep to (tracing.checks) as [[checks]]: the solver and the planner
  then only pick shapes where the formulas hold.
"""

from __future__ import annotations

import json

import sympy as sp

from costmodel.tracing import B, T, Traced

SHAPES = ("n_layer", "d_model", "vocab_size", "n_head", "n_kv_head", "d_ff")
FLAGS = ("norm_weight", "norm_bias", "tied_embeddings", "qkv_fused", "qkv_bias", "proj_bias", "causal_mask_buffer")
GROUPS = ("matrices", "embeddings", "lm_head", "positions", "vectors")
SEQ_TEXT = "(seq_len * sequence/token)"
BATCH_TEXT = "(micro_batch / sequence)"


def _text(expr: sp.Expr) -> str:
    """Formula text the engine's whitelist parses: T and B as unit-free numbers."""
    expr = sp.expand(expr)
    text = sp.sstr(expr, order="grlex")
    return text.replace(T, SEQ_TEXT).replace(B, BATCH_TEXT)


def _number(expr: sp.Expr):
    return int(expr) if expr.is_Integer else float(expr)


def to_toml(traced: Traced, name: str, declared: dict) -> str:
    """The family as TOML text. `declared`: the quantities costmodel's plugins declare already (a
    varied name is declared again, as the engine allows, unless it is declared with another kind)."""
    f = traced.formulas
    source = (f"{traced.file}:{traced.factory} sha256:{traced.sha256}, traced by costmodel trace "
              f"(PyTorch {traced.torch_version}, meta device)")
    how = (f"exact polynomial through {traced.n_fit} measured shapes, checked at {traced.n_held_out} "
           "held-out shapes; degree bounds {deg}")
    defaults: dict[str, object] = {}
    formulas: list[dict] = []
    layer = sp.Symbol("n_layer", positive=True)

    def formula(target: str, expr: sp.Expr, doc: str, unit: str = "", condition: str | None = None, q=None):
        degrees = ", ".join(f"{_var(k, traced)}<={v}" for k, v in sorted(traced.degrees.get(q or target, {}).items())
                            if v)
        row = {"target": target, "expr": f"({_text(expr)}) * {unit}" if unit else _text(expr),
               "doc": f"{doc} ({how.format(deg=degrees or 'all 0')})", "source": source}
        if condition:
            row["condition"] = condition
        formulas.append(row)

    for q in SHAPES:
        if q not in f:
            continue
        expr = f[q]
        if expr.free_symbols == set() and q not in traced.vary:
            defaults[q] = _number(expr)
        elif expr != sp.Symbol(q, positive=True):
            if q in traced.vary:
                raise ValueError(f"the factory's {q!r} is not the model's {q} ({q} = {expr}): rename it")
            formula(q, expr, f"{q} of the traced model")
    if "q_width" in f and "n_head" in f:
        head_dim = f["q_width"] / f["n_head"]
        if head_dim.free_symbols:
            formula("head_dim", sp.Mul(f["q_width"], sp.Pow(f["n_head"], -1, evaluate=False), evaluate=False),
                    "width of one attention head: the query width over the heads", q="q_width")
        else:
            defaults["head_dim"] = _number(head_dim)
    for q in FLAGS:
        if q in f:
            if f[q].free_symbols:
                formula(q, f[q], f"architecture feature {q}, as the traced model follows its arguments")
            else:
                defaults[q] = bool(f[q])
    for key in ("mlp", "norm", "positions", "attention"):
        if key in traced.choices:
            defaults[key] = traced.choices[key]
    attention = traced.choices.get("attention")
    for g in GROUPS:
        formula(f"n_params_{g}", f[f"n_params_{g}"], f"trainable parameters: {g}", "param")
    formula("n_params", f["n_params"], "all unique trainable parameters (a tied tensor once)", "param")
    if attention:
        formula("flops_per_token_exact", f["flops_per_token_exact"],
                "forward + backward FLOPs per token as torch.utils.flop_counter.FlopCounterMode counts them "
                "(matmuls; SDPA as a flash kernel)", "FLOP/token", f'attention == "{attention}"')
        for precision in traced.precisions:
            _activations(traced, formula, layer, precision)
    lines = [
        f"# Traced by `costmodel trace {traced.file}:{traced.factory}` from {traced.file}",
        f"# (sha256 {traced.sha256}) with PyTorch {traced.torch_version} on the meta device.",
        f"# Varied: {', '.join(traced.vary) or '-'}; sequence length: "
        f"{traced.seq_name + ' = seq_len' if traced.seq_name else 'seq_len (free)'}; fixed: "
        f"{', '.join(f'{k}={v}' for k, v in traced.fixed.items()) or '-'}.",
        f"# At the base shape ({', '.join(f'{k}={v}' for k, v in traced.base.items())}): parameters by dtype "
        f"{', '.join(f'{k} {v}' for k, v in traced.params_by_dtype.items())};",
        "# eager fp32 step with AdamW, peak bytes by kind (torch.distributed._tools.mem_tracker.MemTracker): "
        + ", ".join(f"{k} {v}" for k, v in traced.peak.items() if v) + ".",
        "# The traced activations (act_layer, act_outside, mem_mask, mem_logits_saved; mem_weight_copies under",
        "# autocast) are the bytes measured under these recipes, each eager, without checkpointing, full weights",
        f"# and {traced.choices.get('attention')} attention: {recipes_text(traced)}.",
        "# Under any other recipe the memory model's generic formulas of the features below apply.",
        "",
        "[family]",
        f"name = {_q(name)}",
        f"doc = {_q(f'traced from {traced.file}:{traced.factory}')}",
        f"source = {_q(source)}",
        "",
        "[quantities]",
    ]
    for v in traced.vary:
        kind = traced.kinds[v]
        if v not in declared or (declared[v].kind == kind and declared[v].unit == "1"):
            extra = "" if kind == "bool" else ", positive = true"
            lines.append(f"{v} = {{ doc = {_q(f'argument {v} of {traced.factory}')}, kind = {_q(kind)}{extra} }}")
    lines += ["", "[defaults]"]
    for v in traced.vary:
        if v in traced.defaults:
            lines.append(f"{v} = {_value(traced.defaults[v])}")
        elif v in traced.base:  # the solver starts from a value: the traced base shape's
            lines.append(f"{v} = {_value(traced.base[v])}  # the factory has no default: the traced base shape's")
    if isinstance(traced.seq_default, int) and not isinstance(traced.seq_default, bool):
        lines.append(f"seq_len = {traced.seq_default}")
    lines.append("micro_batch = 1  # a run value, not the model's: give yours with --set micro_batch=N")
    for k, v in defaults.items():
        lines.append(f"{k} = {_value(v)}")
    for row in formulas:
        lines += ["", "[[formulas]]"] + [f"{k} = {_q(v)}" for k, v in row.items()]
    for rule in traced.rules:
        lines += ["", "[[checks]]", f"expr = {_q(rule.text)}",
                  f"message = {_q(f'the traced model needs {rule.text}, {rule.why}')}",
                  f"source = {_q(source)}"]
    return "\n".join(lines) + "\n"


PRECISION_WHEN = {
    "fp32": 'precision == "fp32"',
    # CUDA autocast's lists are the same for fp16 and bf16 (aten/src/ATen/autocast_mode.h: one
    # lower-precision list for either dtype): the same bytes; GradScaler keeps no activations
    "amp-bf16": 'precision in ("amp-bf16", "amp-fp16") and amp_autocast',
    "bf16": 'precision == "bf16"',
}
PRECISION_TEXT = {"fp32": "fp32", "amp-bf16": "under CUDA autocast (fp32 weights, 16-bit compute)",
                  "bf16": "bf16 (the model cast to bf16)"}


def condition(traced: Traced, precision: str) -> str:
    """The recipes under which the traced bytes of `precision` are the model's: that precision,
    no checkpointing, full weights, eager (not compiled) and the attention the model runs; under
    autocast with an RMSNorm, autocast's rms_norm policy of the traced PyTorch (fp32 since 2.12)."""
    when = PRECISION_WHEN[precision] + (" and autocast_rms_norm_fp32" if _rms_policy(traced, precision) else "")
    return (f'{when} and checkpointing == "none" and weights == "full" and not compile and attention == '
            f'"{traced.choices.get("attention")}"')


RECIPE_WORDS = {"fp32": "fp32", "amp-bf16": "amp-bf16 and amp-fp16 (torch.autocast)", "bf16": "bf16"}


def recipes_text(traced: Traced) -> str:
    """In words: which recipes use the traced bytes (the CLI note and the TOML header)."""
    rms = " with autocast_rms_norm_fp32 (rms_norm in fp32, as PyTorch 2.12 and later run it)"
    return "precision " + ", ".join(RECIPE_WORDS[p] + (rms if _rms_policy(traced, p) else "") for p in traced.precisions)


def _rms_policy(traced: Traced, precision: str) -> bool:
    """Whether the bytes traced under `precision` assume autocast's rms_norm policy (an RMSNorm
    under autocast, which PyTorch runs in fp32 since 2.12)."""
    return precision == "amp-bf16" and traced.choices.get("norm") == "rmsnorm"


def _activations(traced: Traced, formula, layer, precision: str) -> None:
    """Split the saved bytes S(B, T, ...) = B X + Y into per layer and per token parts."""
    f = traced.formulas
    tag = "" if precision == "fp32" else f"/{precision}"
    saved_q, loss_q = f"saved{tag}", f"saved_loss{tag}"
    b, t = sp.Symbol(B, positive=True), sp.Symbol(T, positive=True)
    loss = sp.expand(f[loss_q])
    vocab = f.get("vocab_size")
    logits = sum((term for term in loss.as_ordered_terms() if vocab is not None and vocab.is_Symbol
                  and vocab in term.free_symbols), sp.Integer(0))
    saved = sp.expand(f[saved_q] + loss - logits)  # the loss's small tensors (targets) count outside
    x, y = saved.coeff(b, 1), saved.coeff(b, 0)
    if sp.expand(saved - b * x - y) != 0:
        return  # not linear in the micro-batch: leave activations to the generic model
    n_layer = f.get("n_layer")
    per_layer = n_layer if n_layer is not None and n_layer.free_symbols and n_layer.is_Symbol else None
    x1 = x.coeff(per_layer, 1) if per_layer is not None else sp.Integer(0)
    y1 = y.coeff(per_layer, 1) if per_layer is not None else sp.Integer(0)
    x0, y0 = sp.expand(x - (per_layer or 0) * x1), sp.expand(y - (per_layer or 0) * y1)
    when = condition(traced, precision)
    how = PRECISION_TEXT[precision]
    formula("act_layer", sp.expand(x1 / t), f"bytes one block saves for backward per token, {how} (saved-tensor "
            "hooks, unique storages)", "byte/token", when, q=saved_q)
    formula("act_outside", sp.expand(x0 / t + y0 / (b * t)), f"bytes saved per token outside the blocks, {how} "
            "(what does not grow with the micro-batch spread over its tokens)", "byte/token", when, q=saved_q)
    formula("mem_mask", sp.expand((per_layer or 0) * y1), "bytes each block saves once per micro-batch "
            f"(masks built from the sequence length), {how}", "byte", when, q=saved_q)
    formula("mem_logits_saved", logits if logits != 0 else loss, "bytes the loss saves for backward (inside "
            f"F.cross_entropy), {how}", "byte", when, q=loss_q)
    if f"copies{tag}" in f:
        formula("mem_weight_copies", f[f"copies{tag}"], "16-bit weight copies autocast makes (once per forward, "
                f"cached) and autograd saves for the matmuls' backward, {how}", "byte", when, q=f"copies{tag}")


def _var(name: str, traced: Traced) -> str:
    return {T: "seq_len", B: "micro_batch"}.get(name, name)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return _q(str(v))
