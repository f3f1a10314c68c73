"""Activations: what the forward pass saves for backward, per token, as the CUDA run saves it.

Each `act_layer` formula lists the tensors one block saves, in the order the block makes them,
with d = d_model, q = n_head * head_dim, k = n_kv_head * head_dim, H = n_head, a = bytes_act and
r = bytes_residual. The lists were read from the upstream code and checked tensor by tensor
against autograd's saved tensors (tests/validation/test_memory_activations.py).

GPT-2 block (nanoGPT model.py L92-L104), per token:
  x into ln_1 and ln_2 (2 r d); their mean and rstd (2 x 8 bytes); their outputs as the matmul
  input (2 a d; under amp the 16-bit casts); c_attn's q, k, v (3 a d; SDPA saves the views);
  the attention output, also c_proj's input (a d); c_fc's output, GELU's input (4 a d); GELU's
  output, c_proj's input (4 a d); flash: the logsumexp (4 H); dropout: one 1-byte mask per
  residual dropout.
nanochat v0 block under autocast (gpt.py@fae3aca L79-L151): rms_norm runs in fp32 under CUDA
  autocast, so the residual stream is fp32 (2 x 4 d) and each norm keeps its fp32 input; every
  Linear casts its fp32 input anew (3 x 2 d for c_q, c_k, c_v; 2 d for c_fc); QK norm keeps fp32
  q and k (4 q + 4 k) and SDPA their 16-bit casts (2 q + 2 k) with v (2 k) and the output (2 q);
  relu^2 keeps relu's output and its square (2 x 8 d); fp32 rstd per norm (4 (2 + H + Hkv)).
Rotary embeddings on a fused q/k/v projection (modded-nanogpt train_gpt2.py@e5b254f L127-L167): the
  rotated q and k are new tensors that SDPA saves, while v, a view of the fused output, keeps all of
  it alive: a (q + k) more per token than with learned positions (act_rotary). With separate q, k, v
  projections the projections' outputs are freed once rotated (the rotation's backward needs only
  cos and sin), so nothing is added.
nanochat head block (gpt.py@92d63d4 L84-L153), everything in the compute dtype: the mixed residual
  and the post-attention residual (2 a d) with their rstd, both normed inputs (2 a d), the rotary
  outputs into QK norm (a (q + k)), the 1.2-scaled q and k and v for SDPA (a (q + 2 k)), the output
  (a q), relu^2 (8 a d); the block's output is kept by the next block's resid_lambdas multiply.
"""

from __future__ import annotations

from . import sources as S
from .weights import T, _f

DROP = "(1 if dropout > 0 else 0)"
FLASH = 'attention == "flash"'
EAGER = 'attention == "eager"'
Q = "n_head * head_dim"
KV = "n_kv_head * head_dim"
CAST = "norm_upcast * (1 - compile)"  # 1 where autocast's fp32 norm outputs are cast anew by each consumer
SOURCES = (S.nanogpt("model.py", "52-104") + "; " + S.v0("nanochat/gpt.py", "79-151") + "; "
           + S.head("nanochat/gpt.py", "84-153") + "; " + S.MEASURED)

RESIDUAL = (
    _f("norm_upcast", "autocast", "autocast runs layer_norm in fp32 (on its fp32 list in every release)",
       S.AUTOCAST, 'norm == "layernorm"'),
    _f("norm_upcast", "autocast * autocast_rms_norm_fp32",
       "autocast runs rms_norm in fp32 since PyTorch 2.12 (feature autocast_rms_norm_fp32); before, in the "
       "input's dtype", S.AUTOCAST + "; " + S.RMS_NORM_POLICY, 'norm == "rmsnorm"'),
    _f("bytes_residual",
       "autocast * (embed_norm * norm_upcast * 4 * byte + (1 - embed_norm * norm_upcast) * bytes_embedding)"
       " + (1 - autocast) * bytes_act",
       "under autocast the stream keeps the embeddings' dtype, or fp32 when a norm that autocast runs in fp32 "
       "makes it from the embedding; without autocast, the compute dtype",
       S.AUTOCAST + "; " + S.nanogpt("model.py", "177-181") + "; " + S.v0("nanochat/gpt.py", "271-274")),
    _f("norm_stat_bytes", "(8 - 4 * compile) * byte", "LayerNorm saves an fp32 mean and rstd per row (compiled: "
       "only the rstd)", S.TORCH.format(path="aten/src/ATen/native/cuda/layer_norm_kernel.cu") + "; " + S.COMPILED,
       'norm == "layernorm"'),
    _f("norm_stat_bytes", "4 * byte", "RMSNorm saves an fp32 rstd per row",
       S.TORCH.format(path="aten/src/ATen/native/layer_norm.cpp (rms_norm)"), 'norm == "rmsnorm"'),
    _f("mlp_saved", "2", "the up projection's output (the activation's input) and the activation's output",
       S.nanogpt("model.py", "82-91") + "; " + S.v0("nanochat/gpt.py", "132-138"), 'mlp in ("gelu", "relu2")'),
    _f("mlp_saved", "4 - compile", "gate and up outputs, the activation of the gate, and their product (the "
       "down projection's input); compiled, the activation of the gate is recomputed in the backward from the "
       "gate's output (a pointwise op), while the product, a matmul's input, is kept",
       S.SHAZEER + "; " + S.PARTITIONER, 'mlp in ("swiglu", "geglu")'),
)

ATTENTION_MATRIX = (
    _f("act_attention_matrix", "0 * byte/token", "flash/SDPA keeps no T x T tensor, only the logsumexp", S.FLASH,
       FLASH),
    _f("act_attention_matrix",
       f"n_head * {T} * (autocast * (4 * byte + bytes_lowp) + (1 - autocast) * bytes_act"
       f" + {DROP} * (1 * byte + (1 - autocast) * bytes_act)) / token"
       f" + 2 * bytes_act * ({Q} - {KV}) / token",
       "per head a T x T softmax output (fp32 under autocast: softmax is on its fp32 list) and, under "
       "autocast, its 16-bit cast for A V; dropout adds a 1-byte mask (and its output when not cast); "
       "with fewer K/V heads than query heads, K and V repeated to n_head heads for the matmuls, "
       "which save the copies",
       S.nanogpt("model.py", "67-71") + "; " + S.AUTOCAST + "; " + S.KORTHIKANTI
       + "; huggingface/transformers models/llama/modeling_llama.py repeat_kv", EAGER),
)

# one pre-norm block, per token: the two norms' inputs (the residual) and statistics; the normed input
# as each Linear reads it (under autocast an fp32 norm output is cast anew by every consumer: 3 for
# separate q, k, v, 2 for a gated MLP); q/k norm inputs and statistics; SDPA's q, k, v and output;
# the MLP's d_ff-wide tensors; dropout masks; the logsumexp (flash) or the T x T tensors (eager)
BLOCK = (
    "2 * bytes_residual * d_model"
    f" + bytes_act * d_model * (2 + {CAST} * (2 - 2 * qkv_fused + mlp_matrices - 2))"
    f" + qk_norm * ((4 * byte * {CAST} + (1 - {CAST}) * bytes_act) * ({Q} + {KV}) + 4 * byte * (n_head + n_kv_head))"
    f" + bytes_act * (2 * {Q} + 2 * {KV}) + mlp_saved * bytes_act * d_ff"
    f" + 2 * norm_stat_bytes + 2 * byte * {DROP} * d_model"
)

LAYER = (
    _f("act_layer", f"({BLOCK} + 4 * byte * n_head) / token + act_rotary + act_lora",
       "a pre-norm block with SDPA: residual 2 r d, normed inputs, q/k norms, q k v and output, the MLP, "
       "2 norms' statistics, logsumexp 4 H (+ dropout masks). Compiled, inductor's partitioner drops what it "
       "can recompute pointwise: an fp32 norm output's extra casts (one 16-bit normed input per norm), the "
       "fp32 q/k-norm inputs (kept in the compute dtype), a gated MLP's activation, LayerNorm's mean; "
       "matmul inputs and outputs and SDPA's q, k, v, output and logsumexp stay", SOURCES + "; " + S.PARTITIONER,
       FLASH),
    _f("act_layer", f"({BLOCK}) / token + act_attention_matrix + act_rotary + act_lora",
       "a pre-norm block with attention written out: the same less the logsumexp, plus the T x T tensors "
       "(compiled: the same drops as with SDPA)", SOURCES + "; " + S.PARTITIONER, EAGER),
    _f("act_lora", "0 * byte/token", "no adapters", "definition", 'weights == "full"'),
    _f("act_rotary", f"qkv_fused * bytes_act * ({Q} + {KV}) / token",
       "rotary q and k computed from a fused q/k/v output: SDPA saves the rotated q and k, and v (a view) keeps "
       "the whole fused output alive; with separate projections their outputs are freed once rotated",
       S.MODDED + "; " + S.MEASURED_ROTARY, 'positions == "rotary"'),
    _f("act_rotary", "0 * byte/token", "learned positions are added to the embedding: q, k and v stay views of "
       "the projection's output", S.nanogpt("model.py", "56-64"), 'positions == "learned"'),
    _f("act_lora", "n_lora_adapters * lora_rank * bytes_act / token",
       "each adapter keeps its r-wide intermediate (x A) for the gradient of B; x itself is kept anyway",
       S.LORA, 'weights in ("lora", "int8", "nf4")',
       assumptions=("a frozen matrix without adapter still counted as keeping its input",)),
)

# the final norm's input: under autocast and compile, inductor does not keep an RMSNorm's input
# (measured with both of autocast's rms_norm policies; without autocast it is kept)
FINAL_IN = {"layernorm": "bytes_residual", "rmsnorm": "bytes_residual * (1 - autocast * compile)"}

OUTSIDE = (
    _f("act_position_ids", "8 * byte * sequence / (micro_batch * token)",
       "the int64 position ids, once per micro-batch", S.nanogpt("model.py", "176"), 'positions == "learned"'),
    _f("act_position_ids", "0 * byte/token", "rotary tables are buffers, indexed without ids",
       S.v0("nanochat/gpt.py", "268-270"), 'positions == "rotary"'),
    *(
        _f("act_final", f"(({final_in} + bytes_act) * d_model + norm_stat_bytes + 8 * byte) / token",
           "the final norm's input and statistics, lm_head's input; the targets",
           S.nanogpt("model.py", "183-187") + "; " + S.v0("nanochat/gpt.py", "275-285") + "; " + S.MEASURED,
           f'norm == "{norm}"')
        for norm, final_in in FINAL_IN.items()
    ),
    _f("act_outside",
       f"(8 * byte + embed_norm * ((4 * byte * {CAST} + (1 - {CAST}) * bytes_embedding) * d_model + norm_stat_bytes)"
       f" + byte * {DROP} * d_model) / token + act_position_ids + act_final",
       "token ids (8); a norm on the embedding keeps its input (fp32 upcast under autocast) and statistics; "
       "the embedding dropout mask; the position ids; the final norm, lm_head's input and the targets",
       S.nanogpt("model.py", "170-187") + "; " + S.v0("nanochat/gpt.py", "259-285") + "; " + S.MEASURED),
    _f("act_block_out", "0 * byte/token", "blocks' outputs are kept only as the next block's norm input",
       S.nanogpt("model.py", "180-181")),
)

KEPT = (
    _f("act_layer_kept", "act_layer", "every block keeps all it saves", "PyTorch autograd default",
       'checkpointing == "none"'),
    _f("act_layer_kept", "act_layer - act_attention_matrix",
       "the T x T tensors are recomputed from q and k in the backward (with flash there is nothing to drop: "
       "FlashAttention recomputes the scores in its backward anyway)", S.KORTHIKANTI + "; " + S.FLASH,
       'checkpointing == "selective"'),
    _f("act_layer_kept", "bytes_residual * d_model / token", "only the block's input is kept",
       S.CHEN, 'checkpointing == "full"'),
    _f("mem_mask", f"n_layer * {T}**2 * byte", "eager attention builds a T x T bool mask per layer "
       "(masked_fill keeps it)", S.nanogpt("model.py", "68"), f'{EAGER} and checkpointing == "none"'),
    _f("mem_mask", "0 * byte", "no mask is kept (SDPA, or recomputed)", S.FLASH,
       f'{FLASH} or checkpointing in ("selective", "full")'),
    _f("micro_tokens", "micro_batch * seq_len", "tokens of one micro-batch on one GPU", "definition"),
    _f("mem_activations",
       "micro_tokens * (n_layer * act_layer_kept + act_outside + act_block_out) + mem_mask + mem_weight_copies",
       "saved for backward at the end of the forward pass: the blocks, what lies outside them, the masks "
       "and the 16-bit weight copies", S.MEASURED),
    _f("mem_recompute", "0 * byte", "nothing is rebuilt", "definition", 'checkpointing in ("none", "selective")'),
    _f("mem_recompute", "micro_tokens * act_layer + amp * bytes_lowp * n_params_matrices / n_layer / param",
       "the block running backward is recomputed in full first, with its 16-bit weight copies",
       S.CHEN, f'checkpointing == "full" and {FLASH}'),
    _f("mem_recompute",
       f"micro_tokens * act_layer + {T}**2 * byte + amp * bytes_lowp * n_params_matrices / n_layer / param",
       "the block running backward is recomputed in full first, with its mask and weight copies", S.CHEN,
       f'checkpointing == "full" and {EAGER}'),
    _f("recompute_flops_per_token", f"4 * n_layer * n_head * head_dim * {T} * FLOP/token",
       "Q K^T and A V forward again (4 h q T per layer, the full T x T as the FLOP conventions count)",
       S.KORTHIKANTI, f'checkpointing == "selective" and {EAGER}'),
    _f("recompute_flops_per_token", "0 * FLOP/token",
       "flash attention already recomputes the scores in its backward: nothing more is recomputed",
       S.FLASH, f'checkpointing == "selective" and {FLASH}'),
    _f("recompute_flops_per_token", "flops_per_token / 3 - 2 * vocab_size * d_model * FLOP/token",
       "one more forward of every block: a third of the training FLOPs, less lm_head's forward (2 V d), "
       "which is not checkpointed", S.CHEN + "; " + S.KORTHIKANTI, 'checkpointing == "full"'),
)

FORMULAS = RESIDUAL + ATTENTION_MATRIX + LAYER + OUTSIDE + KEPT
