"""Architecture features: what a decoder family is made of, declared as quantities and choices.

A family declares its features (in `[defaults]`, a preset, or by its own formulas) and the generic
plugins compute from them alone: the parameter groups and FLOPs below, the memory model
(costmodel_memory) and the time model (costmodel_time). No generic formula names a family.
docs/plugins.md, "Architecture features", has the table of every feature, its default and what it
changes; tests/test_plugin_docs.py checks that table against these declarations.

Choices (`mlp`, `norm`, `positions`) select formulas, so they are fixed per family or preset.
Switches (kind "bool") are used in arithmetic only (0 or 1), so a family may also compute one by a
formula of its own (nanochat's `amp_autocast` differs between its versions). Counts with a default
of 0 are the optional extras.

The memory model assumes the fused torch kernels: `F.layer_norm` / `F.rms_norm` (or nn.LayerNorm,
nn.RMSNorm), `F.scaled_dot_product_attention` for attention "flash", and autograd's saved tensors as
PyTorch 2.13 keeps them (docs/memory.md).
"""

from __future__ import annotations

from costmodel.declarations import Formula, Quantity

T = "(seq_len * sequence/token)"  # positions of a sequence, as a plain number
TORCH = "pytorch/pytorch v2.13.0"
GATED = 'mlp in ("swiglu", "geglu")'
PLAIN = 'mlp in ("gelu", "relu2")'
SHAZEER = "Shazeer 2020, GLU Variants Improve Transformer (arXiv:2002.05202) section 2"
VASWANI = "Vaswani et al. 2017, Attention Is All You Need (arXiv:1706.03762) section 3"


def _feature(name: str, doc: str, kind: str = "integer", unit: str = "1", **kw) -> Quantity:
    return Quantity(name=name, doc=doc, kind=kind, unit=unit, feature=True, **kw)


def _switch(name: str, doc: str, default: bool | None) -> Quantity:
    return _feature(name, doc, kind="bool", default=default)


def _params(name: str, doc: str, kind: str = "real") -> Quantity:
    return Quantity(name=name, doc=doc, unit="param", kind=kind)


FEATURES = [
    # --- shapes (n_layer, d_model, n_head, n_kv_head, head_dim, vocab_size: the core vocabulary) ----
    _feature("d_ff", "MLP hidden width (of each branch of a gated MLP)", positive=True),
    _feature("vocab_multiple", "the embedding's rows are vocab_size rounded up to a multiple of this",
             positive=True, default=1),
    _feature("vocab_size_padded", "rows of the token embedding and of lm_head (vocab_size padded)", positive=True),
    _feature("n_positions", "rows of the learned position table, or positions of the rotary cache",
             positive=True),
    # --- choices ---------------------------------------------------------------------------------
    _feature("mlp", "MLP: gelu (GELU, 2 matrices), relu2 (squared ReLU, 2), swiglu / geglu (gated, 3)",
             kind="choice", choices=("gelu", "relu2", "swiglu", "geglu")),
    _feature("norm", "normalisation: layernorm (mean and variance) or rmsnorm (root mean square)",
             kind="choice", choices=("layernorm", "rmsnorm")),
    _feature("positions", "positions: learned (a table added to the embedding) or rotary (RoPE on q and k)",
             kind="choice", choices=("learned", "rotary")),
    # --- switches --------------------------------------------------------------------------------
    _switch("tied_embeddings", "lm_head shares the token embedding's weight", None),
    _switch("norm_weight", "every norm has a learned scale (d weights)", True),
    _switch("norm_bias", "every LayerNorm has a learned bias (d weights); RMSNorm never has one", False),
    _switch("qkv_bias", "the q, k and v projections have biases", False),
    _switch("proj_bias", "the attention output and MLP projections have biases", False),
    _switch("qkv_fused", "q, k and v come from one fused Linear (GPT-2's c_attn)", False),
    _switch("qk_norm", "q and k are normalised per head before attention (weights of head_dim each)", False),
    _switch("embed_norm", "the token embedding is normalised before the first block", False),
    _switch("embedding_lowp", "the embedding tables (and rotary cache) are stored in 16 bit whatever "
            "the master dtype", False),
    _switch("amp_autocast", "mixed precision runs under torch.autocast (false: the model casts its "
            "weights itself; autocast's fp32 op list does not apply)", True),
    _switch("autocast_rms_norm_fp32", "torch.autocast runs rms_norm in fp32, as PyTorch does since 2.12 "
            "(pytorch/pytorch#174824); false: in its input's dtype, as up to 2.11 (the torch a family pins)", True),
    _switch("expandable_segments", "the training script sets PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True "
            "(the caching allocator grows one segment instead of fragmenting fixed ones)", False),
    _switch("logit_softcap", "logits go through a tanh softcap (c tanh(x / c)) before the loss", False),
    _switch("logits_fp32", "the model casts the logits to fp32 before the loss", False),
    _switch("softcap_fp32", "the softcap runs after the fp32 cast (false: in the compute dtype)", False),
    _switch("logits_held", "the training loop keeps the logits referenced until the next forward "
            "(`logits, loss = model(X, Y)`)", False),
    _switch("causal_mask_buffer", "the model registers a T x T fp32 causal mask per layer for its "
            "eager attention", False),
    _switch("ddp_buckets", "gradients are reduced by DistributedDataParallel (its buckets hold a second "
            "copy when n_gpus > 1)", True),
    _switch("sharded_optimizer", "the family's own distributed Muon/AdamW shards the optimizer states "
            "over the GPUs", False),
    _switch("muon_stacked", "Muon stacks every gradient and parameter of a shape group (MuonAdamW) and "
            "keeps a factored second moment, instead of one matrix at a time", False),
    # --- extras and windows -----------------------------------------------------------------------
    _feature("n_value_embeds", "layers with a value embedding (a vocab x kv-width table each)", default=0),
    _feature("n_scalars", "scalar parameters outside the blocks' matrices (per-layer lambdas, gates)",
             default=0),
    _feature("n_window_layers", "layers with a sliding attention window", default=0),
    _feature("attention_window", "left window of a sliding-window layer, in keys (default: seq_len)",
             unit="token/sequence", positive=True),
]

GROUPS = [
    _params("n_params_matrices", "weights of the blocks' matrices (what Muon and 4/8-bit quantisation take)"),
    _params("n_params_embeddings", "lookup tables: token embedding and value embeddings"),
    _params("n_params_lm_head", "weights of an untied lm_head (0 when tied)", kind="integer"),
    _params("n_params_positions", "the learned position table (0 for rotary)"),
    _params("n_params_vectors", "norm weights and biases, Linear biases and scalars"),
    _params("n_params_matmul_weights", "weights used in matmuls: the blocks' matrices and lm_head"),
]


def _f(target: str, expr: str, doc: str, source: str, condition: str | None = None, **kw) -> Formula:
    return Formula(target=target, expr=expr, doc=doc, source=source, condition=condition, **kw)


Q = "n_head * head_dim"
KV = "n_kv_head * head_dim"
NORM_LN = "(norm_weight + norm_bias)"  # parameters per channel of one LayerNorm
NORM_RMS = "norm_weight"

FORMULAS = [
    _f("vocab_size_padded", "ceil(vocab_size / vocab_multiple) * vocab_multiple",
       "the vocabulary rounded up to the multiple (1: not padded)",
       "karpathy/nanoGPT model.py@3adf61e154c3 L111 (50257 padded to 50304 'for efficiency')"),
    _f("n_positions", f"{T}", "the position table (or rotary cache) covers one training sequence",
       VASWANI + " 3.5", overridable=True),
    _f("attention_window", "seq_len", "no sliding window: every layer attends over the whole sequence",
       VASWANI, overridable=True),
    _f("n_params_matrices", f"n_layer * (2 * d_model * {Q} + 2 * d_model * {KV} + 2 * d_model * d_ff) * param",
       "per block q (d x q), k and v (d x kv each), the output (q x d), and the MLP's two matrices",
       VASWANI, PLAIN),
    _f("n_params_matrices", f"n_layer * (2 * d_model * {Q} + 2 * d_model * {KV} + 3 * d_model * d_ff) * param",
       "per block q, k, v and output, and the gated MLP's gate, up and down matrices", SHAZEER, GATED),
    _f("n_params_embeddings", f"(vocab_size_padded * d_model + n_value_embeds * vocab_size_padded * {KV}) * param",
       "the token embedding, and a vocab x kv-width table per value-embedding layer",
       VASWANI + " 3.4; karpathy/nanochat nanochat/gpt.py@92d63d4e8bb4 L190-L192 (value embeddings)"),
    _f("n_params_lm_head", "(1 - tied_embeddings) * vocab_size_padded * d_model * param",
       "an untied lm_head (d x V, no bias); a tied one is the embedding", VASWANI + " 3.4 (weight tying)"),
    _f("n_params_positions", "n_positions * d_model * param", "one d-wide row per position",
       VASWANI + " 3.5 (learned positional embeddings)", 'positions == "learned"'),
    _f("n_params_positions", "0 * param", "rotary embeddings have no parameters",
       "Su et al. 2021, RoFormer (arXiv:2104.09864) section 3.4", 'positions == "rotary"'),
    *(
        _f("n_params_vectors",
           f"(n_layer * (2 * d_model * {per} + 2 * qk_norm * head_dim * {per}"
           f" + qkv_bias * ({Q} + 2 * {KV}) + proj_bias * (2 * d_model + {n_ff} * d_ff))"
           f" + (1 + embed_norm) * d_model * {per} + n_scalars) * param",
           f"per block two {norm}s of d ({per} each), q/k norms of head_dim, biases; the final (and "
           "embedding) norm; the scalars",
           source, f'norm == "{norm}" and {mlp}')
        for norm, per, source in (
            ("layernorm", NORM_LN, "Ba et al. 2016, Layer Normalization (arXiv:1607.06450)"),
            ("rmsnorm", NORM_RMS, "Zhang and Sennrich 2019, Root Mean Square Layer Normalization (arXiv:1910.07467)"),
        )
        for mlp, n_ff in ((PLAIN, 1), (GATED, 2))
    ),
    _f("n_params",
       "n_params_matrices + n_params_embeddings + n_params_lm_head + n_params_positions + n_params_vectors",
       "all unique trainable parameters: the groups", "definition"),
    _f("n_params_matmul_weights", "n_params_matrices + vocab_size_padded * d_model * param",
       "weights that multiply the token stream: the blocks' matrices and lm_head (tied or not)",
       "Kaplan et al. 2020 (arXiv:2001.08361) section 2.1 (embedding lookups cost no FLOPs)"),
    _f("flops_per_token",
       f"(6 * n_params_matmul_weights / param + 12 * {Q} * ((n_layer - n_window_layers) * {T}"
       " + n_window_layers * min(attention_window, seq_len) * sequence/token)) * FLOP/token",
       "6 FLOP per matmul weight and token, plus 12 h q T per layer for attention (min(window, T) keys "
       "in a sliding-window layer)",
       "Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B",
       assumptions=("attention over the full T x T matrix (no causal halving)",
                    "embedding lookups, norms and elementwise work cost nothing")),
    *(
        _f("flops_per_token_exact", f"(6 * n_params_matmul_weights / param + {k} * n_layer * {Q} * {T}) * FLOP/token",
           f"every matmul as FlopCounterMode counts it: 6 per weight and token; {attn} attention {k} h q T "
           "per layer (dense T x T, whatever the window)",
           f"{TORCH} torch/utils/flop_counter.py (mm, bmm, sdpa_flop_count, sdpa_backward_flop_count)",
           f'attention == "{attn}"')
        for attn, k in (("eager", 12), ("flash", 14))
    ),
]
