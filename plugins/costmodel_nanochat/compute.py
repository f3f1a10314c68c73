"""FLOPs per token: the version's own `estimate_flops`, and the exact matmul count.

`flops_per_token` is what `GPT.estimate_flops()` returns, the number base_train prints, multiplies
into "Total training FLOPs estimate" and divides by for MFU:
  v0:   6 * (all params - wte) + 12 * n_layer * n_head * head_dim * seq_len
  head: 6 * (weights of every Linear) + sum over layers of 12 * n_head * head_dim * min(window, seq_len)

`flops_per_token_exact` is every matmul FLOP of one forward+backward as torch's FlopCounterMode
counts it: each Linear costs 2 (forward) + 4 (input and weight gradients) FLOP per weight and token;
attention costs, per layer and token, 12 * n_head * head_dim * T when written out (attention
"eager": Q K^T and A V, and their gradients) and 14 * n_head * head_dim * T through SDPA (attention
"flash": torch's SDPA formulas, whose backward recomputes Q K^T). Attention is always the full
T x T matrix: FlopCounterMode counts masked SDPA dense, and nanochat's SDPA fallback computes a
sliding window as a mask over the dense matrix, so windows do not change the exact count. They do
change `estimate_flops`, which prices a windowed layer at min(window, T) keys as FA3 computes it.
At head the exact count also differs by the smear gate, which runs on T - 1 of the T tokens of a
sequence; in v0 the eager exact count equals estimate_flops.
"""

from __future__ import annotations

from costmodel.declarations import Formula

from .sources import IS_HEAD, IS_V0, head, v0

GPT = "nanochat/gpt.py"

# token/sequence is seq_len's unit: `seq_len * sequence / token` is the bare number of positions.
_T = "(seq_len * sequence / token)"

# window_pattern "S" * k + "L" is tiled over the layers and the last layer is forced to L. Every
# full tile ends in an L; the last, partial tile is all S up to the forced L. So the full-context
# layers are ceil(n_layer / len(pattern)), and pattern "S" leaves only the last one.
_PATTERNS = ("L", "SL", "SSL", "SSSL")


def _long_layers(pattern: str) -> Formula:
    return Formula(
        target="n_long_layers",
        expr=f"ceil(n_layer / {len(pattern)})" if len(pattern) > 1 else "n_layer",
        doc=f'full-context layers of pattern "{pattern}": one per tile, the last layer included',
        source=head(GPT, "298-314"),
        condition=f'{IS_HEAD} and window_pattern == "{pattern}"',
    )


WINDOWS = (
    Formula(
        target="n_long_layers", expr="n_layer", doc="v0 attends over the full context in every layer",
        source=v0(GPT, "104-107"), condition=IS_V0,
    ),
    *(_long_layers(pattern) for pattern in _PATTERNS),
    Formula(
        target="n_long_layers", expr="1", doc='pattern "S": only the last layer (always L)',
        source=head(GPT, "309-313"), condition=f'{IS_HEAD} and window_pattern == "S"',
    ),
    Formula(
        target="n_short_layers", expr="n_layer - n_long_layers", doc="sliding-window layers",
        source=head(GPT, "309-313"),
    ),
    Formula(
        target="short_window", expr="seq_len", doc="no sliding windows in v0",
        source=v0(GPT, "107"), condition=IS_V0,
    ),
    Formula(
        target="short_window",
        expr="ceil(seq_len / (512 * token/sequence)) * 128 * token/sequence",
        doc="a quarter of the context rounded up to the 128-token tile: -(-T // 4 // 128) * 128 "
        "(2048 -> 512)",
        source=head(GPT, "301-302"), condition=IS_HEAD,
    ),
)

# Attention FLOPs per layer and token, in units of n_head * head_dim * T, as FlopCounterMode counts
# them: eager = Q K^T and A V forward (4) and their four gradients (8); flash = torch's SDPA formulas,
# whose backward also recomputes Q K^T (4 + 10).
_ATTENTION = {"eager": 12, "flash": 14}


def _exact(version: str, attention: str, per_layer: int) -> Formula:
    attn = f"{per_layer} * n_layer * n_head * head_dim * {_T}"
    if version == "v0":
        expr = f"(6 * n_params_matmul / param + {attn}) * FLOP/token"
        doc = f"Linear weights 6 FLOP per token; {attention} attention {per_layer}*h*q*T per layer"
        source = v0(GPT, "74-77, 107, 132-138, 282")
    else:
        expr = (f"(6 * (n_params_matmul / param - 24) + 6 * 24 * ({_T} - 1) / {_T} + {attn})"
                " * FLOP/token")
        doc = (f"Linear weights 6 FLOP per token (the 24-weight smear gate on T - 1 of T tokens); "
               f"{attention} attention {per_layer}*h*q*T per layer, dense whatever the window")
        source = head(GPT, "77-82, 96, 110, 134-140, 479, 512")
    if attention == "flash":
        source += "; pytorch/pytorch torch/utils/flop_counter.py sdpa_flop_count, sdpa_backward_flop_count"
    return Formula(
        target="flops_per_token_exact", expr=expr, doc=doc, source=source,
        assumptions=("attention over the full T x T matrix (a sliding window only masks it)",),
        condition=f'version == "{version}" and attention == "{attention}"',
    )


FLOPS = (
    Formula(
        target="flops_per_token",
        expr=f"(6 * (n_params - n_params_wte) / param + 12 * n_layer * n_head * head_dim * {_T})"
        " * FLOP/token",
        doc="estimate_flops: 6 FLOP per non-embedding parameter and token, plus 12*h*q*T for the "
        "attention scores and their use in every layer (PaLM appendix B convention)",
        source=v0(GPT, "220-226"),
        assumptions=("the token embedding is a lookup (0 FLOP); lm_head is counted",
                     "attention counted over the full T x T matrix (no causal halving)"),
        condition=IS_V0,
    ),
    Formula(
        target="flops_per_token",
        expr="(6 * n_params_matmul / param + 12 * n_head * head_dim * (n_long_layers * seq_len"
        " + n_short_layers * min(short_window, seq_len)) * sequence / token) * FLOP/token",
        doc="estimate_flops: 6 FLOP per matmul weight and token, plus 12*h*q*min(window, T) per "
        "layer for attention",
        source=head(GPT, "319-349"),
        assumptions=("embeddings, value embeddings and scalars are free (lookups, elementwise)",
                     "attention of a windowed layer counted as if it computed min(window, T) keys"),
        condition=IS_HEAD,
    ),
    *(_exact(version, attention, per_layer)
      for version in ("v0", "head") for attention, per_layer in _ATTENTION.items()),
)

FORMULAS = WINDOWS + FLOPS
