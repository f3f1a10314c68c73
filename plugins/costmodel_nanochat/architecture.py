"""Shapes and parameter counts of nanochat's GPT, per version.

Every count is what `sum(p.numel() for p in model.parameters())` gives for the module tree of that
commit (tests/validation/ref_nanochat.py rebuilds both trees and checks each count exactly).
"""

from __future__ import annotations

from costmodel.declarations import Formula

from .sources import IS_HEAD, IS_V0, head, v0

GPT = "nanochat/gpt.py"
TRAIN = "scripts/base_train.py"
TOK = "scripts/tok_train.py"


def _v0(target: str, expr: str, doc: str, source: str, **kw) -> Formula:
    return Formula(target=target, expr=expr, doc=doc, source=source, condition=IS_V0, **kw)


def _head(target: str, expr: str, doc: str, source: str, **kw) -> Formula:
    return Formula(target=target, expr=expr, doc=doc, source=source, condition=IS_HEAD, **kw)


def _both(target: str, expr: str, doc: str, source: str, **kw) -> Formula:
    return Formula(target=target, expr=expr, doc=doc, source=source, **kw)


SHAPES = (
    _both("n_layer", "depth", "one block per unit of depth", v0(TRAIN, "75") + "; " + head(TRAIN, "138")),
    _v0(
        "model_dim", "depth * aspect_ratio",
        "width grows linearly with depth (aspect ratio 64, hard-coded in v0)", v0(TRAIN, "76"),
    ),
    _head(
        "model_dim", "n_head * target_head_dim",
        "depth * aspect_ratio nudged up to a whole number of heads of exactly target_head_dim",
        head(TRAIN, "133-134"),
    ),
    _v0(
        "n_head", "max(1, ceil(model_dim / target_head_dim))",
        "heads of about 128 channels: ceil division (model_dim + 127) // 128", v0(TRAIN, "77"),
    ),
    _head(
        "n_head", "ceil(depth * aspect_ratio / target_head_dim)",
        "model_dim // head_dim of the nudged width: depth * aspect_ratio in heads, rounded up",
        head(TRAIN, "133-135"),
    ),
    _both(
        "n_kv_head", "n_head",
        "base_train uses as many key/value heads as query heads; set fewer for GQA",
        v0(TRAIN, "78") + "; " + head(TRAIN, "138"), overridable=True,
    ),
    _v0("head_dim", "model_dim // n_head", "CausalSelfAttention.head_dim = n_embd // n_head",
        v0(GPT, "71")),
    _head(
        "head_dim", "target_head_dim",
        "n_embd // n_head, which is --head-dim exactly: model_dim is a whole number of such heads",
        head(TRAIN, "131-135") + "; " + head(GPT, "74"),
    ),
    _both("d_model", "model_dim", "the shared name of the residual width", v0(TRAIN, "95")),
    _v0(
        "vocab_size", "65536", "tok_train's default vocabulary, 2**16 incl. the 9 special tokens",
        v0(TOK, "19"), overridable=True,
    ),
    _head(
        "vocab_size", "32768", "tok_train's default vocabulary, 2**15 incl. the 9 special tokens",
        head(TOK, "19"), overridable=True,
    ),
    _v0("vocab_size_padded", "vocab_size", "no padding in v0", v0(GPT, "159")),
    _head(
        "vocab_size_padded", "ceil(vocab_size / 64) * 64",
        "wte and lm_head rows padded up to a multiple of 64 (logits are cropped)", head(GPT, "170"),
    ),
    _v0("n_value_embeds", "0", "v0 has no value embeddings", v0(GPT, "158-161")),
    _head(
        "n_value_embeds", "(n_layer + 1) // 2",
        "layers whose index has the parity of the last layer: ceil(n_layer / 2)", head(GPT, "53-55, 192"),
    ),
)

# Per block: c_q (d x n_head*head_dim), c_k and c_v (d x n_kv_head*head_dim), c_proj (d x d),
# MLP c_fc (d x 4d) and c_proj (4d x d). No biases, no norm weights (rms_norm without parameters).
_BLOCK = (
    "2 * model_dim * n_head * head_dim + 2 * model_dim * n_kv_head * head_dim + 8 * model_dim**2"
)

PARAMS = (
    _both(
        "n_params_wte", "vocab_size_padded * model_dim * param", "token embedding table",
        v0(GPT, "159") + "; " + head(GPT, "174"),
    ),
    _both(
        "n_params_lm_head", "vocab_size_padded * model_dim * param", "untied unembedding, no bias",
        v0(GPT, "162") + "; " + head(GPT, "177"),
    ),
    _both(
        "n_params_value_embeds", "n_value_embeds * vocab_size_padded * n_kv_head * head_dim * param",
        "one vocab x kv_dim table per value-embedding layer (none in v0)", head(GPT, "190-192"),
    ),
    _v0(
        "n_params_transformer_matrices", f"n_layer * ({_BLOCK}) * param",
        "attention q, k, v, proj and the 4x MLP of every block", v0(GPT, "74-77, 132-133"),
    ),
    _head(
        "n_params_transformer_matrices", f"(n_layer * ({_BLOCK}) + n_value_embeds * 12 * n_kv_head) * param",
        "the v0 block matrices plus a 12 -> n_kv_head value-embedding gate in each VE layer",
        head(GPT, "77-82, 134-135"),
    ),
    _v0("n_scalars", "0", "v0 has no scalar parameters", v0(GPT, "154-173")),
    _head(
        "n_scalars", "2 * n_layer + 24 + 1 + 1",
        "resid_lambdas and x0_lambdas (one per layer), smear_gate 24 -> 1, smear_lambda, backout_lambda",
        head(GPT, "182-188, 407"),
    ),
    _both(
        "n_params_scalars", "n_scalars * param", "the scalar group as parameters",
        head(GPT, "407"),
    ),
    _both(
        "n_params",
        "n_params_wte + n_params_value_embeds + n_params_lm_head + n_params_transformer_matrices"
        " + n_params_scalars",
        "all unique trainable parameters (nothing is tied)", v0(TRAIN, "103") + "; " + head(GPT, "403-409"),
    ),
    _both(
        "n_params_reported", "n_params", "base_train prints the full count ('total' at head)",
        v0(TRAIN, "103-104") + "; " + head(TRAIN, "252-256"),
    ),
    _v0(
        "n_params_matmul", "n_params_transformer_matrices + n_params_lm_head",
        "every parameter but wte multiplies the token stream", v0(GPT, "222-225"),
    ),
    _head(
        "n_params_matmul", "n_params_transformer_matrices + n_params_lm_head + 24 * param",
        "num_matmul_params: weights of every Linear (blocks, lm_head and the 24-weight smear gate)",
        head(GPT, "341-349"),
    ),
    _v0(
        "n_params_scaling", "n_params",
        "v0's data:param rule multiplies the full parameter count", v0(TRAIN, "118"),
    ),
    _head(
        "n_params_scaling", "n_params_transformer_matrices + n_params_lm_head",
        "transformer matrices + lm_head: the count whose scaling laws came out cleanest",
        head(TRAIN, "263-268"),
    ),
)

# Optimizer groups: Muon takes every parameter inside transformer.h, AdamW the rest.
GROUPS = (
    _both(
        "n_params_muon", "n_params_transformer_matrices", "matrix_params = transformer.h.parameters()",
        v0(GPT, "232, 251") + "; " + head(GPT, "423, 447-452"),
    ),
    _both(
        "n_params_adamw_embedding", "n_params_wte + n_params_value_embeds",
        "AdamW embedding groups (wte; at head also value_embeds at half the embedding lr)",
        v0(GPT, "233, 243") + "; " + head(GPT, "424-425, 440-441"),
    ),
    _both(
        "n_params_adamw_unembedding", "n_params_lm_head", "AdamW unembedding group (lm_head)",
        v0(GPT, "234, 242") + "; " + head(GPT, "426, 439"),
    ),
    _both(
        "n_params_adamw_scalar", "n_params_scalars",
        "AdamW scalar groups: resid, x0 and smear/backout (none in v0)", head(GPT, "427-429, 442-444"),
    ),
)

FORMULAS = SHAPES + PARAMS + GROUPS
