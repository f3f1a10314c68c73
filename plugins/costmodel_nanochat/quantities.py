"""The quantities nanochat adds to the vocabulary (the run quantities belong to costmodel_core).

Architecture names `n_layer`, `d_model`, `n_head`, `n_kv_head`, `head_dim`, `vocab_size` are the
shared ones that the memory model composes with; the others are nanochat's own knobs and counts.
The architecture features (vocab_size_padded, n_value_embeds, n_scalars, n_params_lm_head, ...) are
costmodel_core's. Parameter dtypes (needed for memory): docs/families/nanochat.md, "Parameter groups".
"""

from __future__ import annotations

from costmodel.declarations import Quantity


def _int(name: str, doc: str, unit: str = "1", positive: bool = True) -> Quantity:
    return Quantity(name=name, doc=doc, unit=unit, kind="integer", positive=positive)


def _params(name: str, doc: str) -> Quantity:
    return Quantity(name=name, doc=doc, unit="param", kind="integer")


QUANTITIES = (
    # --- which upstream code, and its knobs (base_train.py arguments) ---------------------------
    Quantity(
        name="version",
        doc="which nanochat: v0 = fae3aca9519a (Oct 2025 release, run1000.sh d32), head = 92d63d4e8bb4",
        kind="choice",
        choices=("v0", "head"),
    ),
    _int("depth", "--depth: number of transformer blocks, nanochat's one complexity dial"),
    _int("aspect_ratio", "--aspect-ratio: model_dim = depth * aspect_ratio (64; fixed in v0)"),
    _int("target_head_dim", "--head-dim: target attention head size (128; fixed in v0)"),
    Quantity(
        name="window_pattern",
        doc="--window-pattern (head): S/L per layer, tiled, last layer always L; S = short window",
        kind="choice",
        choices=("SSSL", "SSL", "SL", "L", "S"),
    ),
    Quantity(
        name="target_param_data_ratio",
        doc="--target-param-data-ratio: training tokens per scaling parameter (v0 20, head 12)",
        positive=True,
    ),
    Quantity(
        name="total_batch_size",
        doc="--total-batch-size: tokens per optimizer step on all GPUs (v0 524288, head auto rule)",
        unit="token",
        kind="integer",
        positive=True,
    ),
    # --- architecture ----------------------------------------------------------------------------
    _int("model_dim", "width of the residual stream (GPTConfig.n_embd)"),
    _int("n_layer", "number of transformer blocks (GPTConfig.n_layer = depth)"),
    _int("d_model", "width of the residual stream (= model_dim)"),
    _int("n_head", "query heads per layer"),
    _int("n_kv_head", "key/value heads per layer (= n_head in base_train; fewer is GQA)"),
    _int("head_dim", "channels per attention head (n_embd // n_head)"),
    _int("vocab_size", "tokenizer vocabulary incl. special tokens (v0 65536 = 2**16, head 32768 = 2**15)"),
    _int("n_short_layers", "layers with the short sliding window (head's window_pattern)", positive=False),
    _int("n_long_layers", "layers attending over the full context"),
    _int("short_window", "left window of an S layer, in keys (head)", unit="token/sequence"),
    # --- parameter counts ------------------------------------------------------------------------
    _params("n_params_wte", "token embedding wte (stored bf16 on CUDA)"),
    _params("n_params_value_embeds", "value embeddings (head; stored bf16 on CUDA)"),
    _params("n_params_transformer_matrices", "all parameters inside the blocks (fp32): Muon's matrices"),
    _params("n_params_scalars", "per-layer lambdas, smear gate and smear/backout lambdas (head; fp32)"),
    _params("n_params_matmul", "weights that multiply the token stream: 2 FLOP per token forward"),
    _params("n_params_scaling", "the version's scaling-law parameter count (its data-ratio rule uses it)"),
    _params("n_params_muon", "parameters Muon updates: the block matrices (fp32)"),
    _params("n_params_adamw_embedding", "AdamW embedding groups: wte + value embeddings (bf16 on CUDA)"),
    _params("n_params_adamw_unembedding", "AdamW unembedding group: lm_head (fp32)"),
    _params("n_params_adamw_scalar", "AdamW scalar groups: lambdas and smear gate (fp32; 0 in v0)"),
    Quantity(
        name="flops_per_token_exact",
        doc="matmul FLOPs of one training micro-step (forward+backward) per token, attention dense "
        "T x T, as torch's FlopCounterMode counts them",
        unit="FLOP/token",
    ),
    # --- training horizon ------------------------------------------------------------------------
    Quantity(name="target_tokens", doc="training tokens the data:param ratio asks for", unit="token"),
    _int("batch_ref_model_dim", "head's batch-size rule: model_dim of the d12 reference model"),
    _params("batch_ref_n_params_scaling", "head's batch-size rule: scaling parameters of d12"),
    Quantity(
        name="batch_ref_tokens",
        doc="head's batch-size rule: D_REF, the d12 horizon at the same data:param ratio",
        unit="token",
    ),
)
