"""nanochat on the architecture features: what differs between the versions, and head's own tensors.

The static features (relu^2 MLP, weightless RMSNorm, rotary, QK norm, untied head, softcapped fp32
logits, no DDP) are in the family's defaults. Here are the ones that follow from `version`, the
parameter groups in nanochat's own counts, and the memory of what only nanochat head has outside
its blocks (the smear gate, x0, value embeddings, per-layer lambdas keeping the blocks' outputs).
Those two formulas refine costmodel_memory's generic ones; the names they use are re-declared here,
with the memory model's units, so that the family also loads without that plugin.
"""

from __future__ import annotations

from costmodel.declarations import Formula, Quantity

from .sources import IS_HEAD, IS_V0, head, v0

GPT = "nanochat/gpt.py"
T = "(seq_len * sequence / token)"
BF16 = 'precision in ("amp-bf16", "bf16")'
MEASURED = "measured: tests/validation/test_memory_activations.py (torch 2.13 on CPU, CUDA semantics)"
COMPILED = "measured: tests/validation/test_memory_compiled.py (inductor's partitioner, torch 2.13; docs/memory.md)"

QUANTITIES = (
    Quantity(name="bytes_act", unit="byte", doc="bytes per element in the compute dtype (costmodel_memory)"),
    Quantity(name="act_outside", unit="byte/token", doc="bytes saved per token outside the blocks (costmodel_memory)"),
    Quantity(name="act_block_out", unit="byte/token",
             doc="block outputs kept by the next block's input scaling, per token (costmodel_memory)"),
    Quantity(name="n_params_small", unit="param", doc="parameters in tensors under 4096 elements (costmodel_memory)"),
)


def _f(target: str, expr: str, doc: str, source: str, condition: str | None = None) -> Formula:
    return Formula(target=target, expr=expr, doc=doc, source=source, condition=condition)


FEATURES = (
    _f("d_ff", "4 * model_dim", "c_fc is four times as wide as the residual stream",
       v0(GPT, "132-133") + "; " + head(GPT, "134-135")),
    _f("n_positions", f"10 * {T}", "the rotary tables are precomputed for ten times the sequence length",
       v0(GPT, "167-171") + "; " + head(GPT, "197-201")),
    _f("amp_autocast", "1", "base_train runs the model under torch.autocast(bfloat16)", v0("scripts/base_train.py", "62"),
       IS_V0),
    _f("amp_autocast", "0", "no autocast: every Linear casts its weight to the activations' dtype",
       head("nanochat/common.py", "14-15") + "; " + head(GPT, "45-50"), IS_HEAD),
    _f("embedding_lowp", "1", "GPT.__init__ casts wte (and the rotary tables) to bf16 on every device",
       v0(GPT, "172-173, 213"), IS_V0),
    _f("embedding_lowp", "1", "wte and the value embeddings are stored in COMPUTE_DTYPE (bf16)",
       head(GPT, "262-268"), f"{IS_HEAD} and {BF16}"),
    _f("embedding_lowp", "0", "fp16 (GradScaler) and fp32 compute keep fp32 embeddings",
       head(GPT, "262-268"), f"{IS_HEAD} and not {BF16}"),
    _f("softcap_fp32", "0", "the softcap runs on lm_head's 16-bit output, then .float()", v0(GPT, "282-285"), IS_V0),
    _f("softcap_fp32", "1", ".float() first, then the softcap", head(GPT, "512-520"), IS_HEAD),
    _f("muon_stacked", "0", "Keller Jordan's Muon: one matrix at a time", v0("nanochat/muon.py", "60-83"), IS_V0),
    _f("muon_stacked", "1", "MuonAdamW stacks each shape group and keeps a factored second moment",
       head("nanochat/optim.py", "295-459"), IS_HEAD),
    _f("n_window_layers", "n_short_layers", "the S layers of the window pattern", head(GPT, "298-314")),
    _f("attention_window", "short_window", "the S layers' window", head(GPT, "301-302")),
)

GROUPS = (
    _f("n_params_matrices", "n_params_transformer_matrices", "every parameter inside the blocks (Muon's group)",
       v0(GPT, "232") + "; " + head(GPT, "423")),
    _f("n_params_embeddings", "n_params_wte + n_params_value_embeds", "wte and the value embeddings",
       v0(GPT, "159") + "; " + head(GPT, "174, 190-192")),
    _f("n_params_matmul_weights", "n_params_matmul", "every Linear weight: blocks, lm_head (and head's smear gate)",
       head(GPT, "341-349")),
    _f("n_params_small", "n_params_scalars + n_value_embeds * 12 * n_kv_head * param",
       "per-layer lambdas, smear gate and the 12 -> n_kv_head value-embedding gates (head; none in v0)",
       head(GPT, "82, 182-188")),
)

HEAD_TENSORS = (
    _f("act_outside",
       f"(24 * byte + (5 - 3 * compile) * bytes_act * d_model + 26 * bytes_act * ({T} - 1) / {T}"
       " + n_value_embeds * bytes_act * ((1 - compile) * n_kv_head * head_dim + 2 * n_kv_head)) / token",
       "ids, targets; the embedding into the first norm, its output (read by the smear) and x0; the smear gate's "
       "24-wide input, sigmoid and gate on T - 1 positions; the final norm's input and output; per value-"
       "embedding layer the looked-up values (k) and two gate tensors (2 Hkv). Compiled: three of the five "
       "d-wide tensors and the looked-up values are recomputed in the backward",
       head(GPT, "459-521") + "; " + MEASURED + "; " + COMPILED, IS_HEAD),
    _f("act_block_out", "bytes_act * d_model * (n_layer - 1 + (1 if n_layer <= 2 else 0)) / token",
       "x = resid_lambdas[i] * x + ...: each multiply keeps the previous block's output; the backout "
       "layer's output too (kept separately when it is the last block)", head(GPT, "499-507"), IS_HEAD),
)

FORMULAS = FEATURES + GROUPS + HEAD_TENSORS
