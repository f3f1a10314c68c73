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
nanochat head block (gpt.py@92d63d4 L84-L153), everything in the compute dtype: the mixed residual
  and the post-attention residual (2 a d) with their rstd, both normed inputs (2 a d), the rotary
  outputs into QK norm (a (q + k)), the 1.2-scaled q and k and v for SDPA (a (q + 2 k)), the output
  (a q), relu^2 (8 a d); the block's output is kept by the next block's resid_lambdas multiply.
"""

from __future__ import annotations

from costmodel.declarations import Formula

from . import sources as S
from .weights import AMP, GPT2, HEAD, NANOCHAT, T, V0, _f

DROP = "(1 if dropout > 0 else 0)"
FLASH = 'attention == "flash"'
EAGER = 'attention == "eager"'
NOT_V0_AMP = f'{NANOCHAT} and not (version == "v0" and {AMP})'
V0_AMP = f"{V0} and {AMP}"
GPT2_SRC = S.nanogpt("model.py", "52-104") + "; " + S.MEASURED
# v0 under autocast, bytes per token of one block: eager keeps three 16-bit casts of the normed input
# (one per Linear) and fp32 q, k for QK norm; compiled, inductor casts once and keeps q, k in bf16
V0_BLOCK = ("(32 - 4 * compile) * d_model + (8 - 2 * compile) * n_head * head_dim"
            " + (8 - 2 * compile) * n_kv_head * head_dim")

RESIDUAL = (
    _f("autocast", "amp", "nanoGPT and nanochat v0 run amp as torch.autocast", S.nanogpt("train.py", "112") + "; "
       + S.v0("scripts/base_train.py", "62"), f"{GPT2} or {V0}"),
    _f("autocast", "0", "nanochat head casts the weights itself and runs no autocast",
       S.head("nanochat/common.py", "14-15") + "; " + S.head("nanochat/gpt.py", "45-50"), HEAD),
    _f("bytes_residual", "bytes_param", "the residual stream is the sum of the embeddings: the master dtype",
       S.nanogpt("model.py", "177-181"), GPT2),
    _f("bytes_residual", "4 * byte", "rms_norm is on CUDA autocast's fp32 list: the stream after the first "
       "norm is fp32", S.AUTOCAST + "; " + S.v0("nanochat/gpt.py", "271-274"), V0_AMP),
    _f("bytes_residual", "bytes_act", "no autocast: activations stay in the compute dtype",
       S.head("nanochat/gpt.py", "470-473"), NOT_V0_AMP),
)

ATTENTION_MATRIX = (
    _f("act_attention_matrix", "0 * byte/token", "flash/SDPA keeps no T x T tensor, only the logsumexp", S.FLASH,
       FLASH),
    _f("act_attention_matrix",
       f"n_head * {T} * (autocast * (4 * byte + bytes_lowp) + (1 - autocast) * bytes_act"
       f" + {DROP} * (1 * byte + (1 - autocast) * bytes_act)) / token",
       "per head a T x T softmax output (fp32 under autocast: softmax is on its fp32 list) and, under "
       "autocast, its 16-bit cast for A V; dropout adds a 1-byte mask (and its output when not cast)",
       S.nanogpt("model.py", "67-71") + "; " + S.AUTOCAST + "; " + S.KORTHIKANTI, EAGER),
)

LAYER = (
    _f("act_layer",
       f"((2 * bytes_residual + 14 * bytes_act + 2 * byte * {DROP}) * d_model + (16 - 8 * compile) * byte"
       " + 4 * byte * n_head) / token + act_lora",
       "GPT-2 block with SDPA: 2 r d + 14 a d + 2 LayerNorm x 8 bytes (compiled: only rstd, 4) + logsumexp "
       "4 H (+ dropout masks)",
       GPT2_SRC, f"{GPT2} and {FLASH}"),
    _f("act_layer",
       f"((2 * bytes_residual + 14 * bytes_act + 2 * byte * {DROP}) * d_model + (16 - 8 * compile) * byte)"
       " / token + act_attention_matrix + act_lora",
       "GPT-2 block written out: the same, q, k, v as copies for the batched matmuls, plus the T x T tensors",
       GPT2_SRC, f"{GPT2} and {EAGER}"),
    _f("act_layer",
       f"({V0_BLOCK}) * byte / token + 4 * byte * (2 + 2 * n_head + n_kv_head) / token + act_lora",
       "nanochat v0 under autocast with SDPA: 32 d + 8 q + 8 k bytes (compiled: 28 d + 6 q + 6 k), rstd of "
       "2 + H + Hkv norms, logsumexp 4 H", S.v0("nanochat/gpt.py", "79-151") + "; " + S.MEASURED,
       f"{V0_AMP} and {FLASH}"),
    _f("act_layer",
       f"({V0_BLOCK}) * byte / token + 4 * byte * (2 + n_head + n_kv_head) / token + act_attention_matrix"
       " + act_lora",
       "nanochat v0 under autocast, attention written out: as SDPA less the logsumexp, plus T x T tensors",
       S.v0("nanochat/gpt.py", "79-151") + "; " + S.MEASURED, f"{V0_AMP} and {EAGER}"),
    _f("act_layer",
       "bytes_act * (12 * d_model + 3 * n_head * head_dim + 3 * n_kv_head * head_dim) / token"
       " + 4 * byte * (2 + 2 * n_head + n_kv_head) / token + act_lora",
       "nanochat block in the compute dtype with SDPA: a (12 d + 3 q + 3 k), rstd of 2 + H + Hkv norms, "
       "logsumexp 4 H", S.head("nanochat/gpt.py", "84-153") + "; " + S.MEASURED, f"{NOT_V0_AMP} and {FLASH}"),
    _f("act_layer",
       "bytes_act * (12 * d_model + 3 * n_head * head_dim + 3 * n_kv_head * head_dim) / token"
       " + 4 * byte * (2 + n_head + n_kv_head) / token + act_attention_matrix + act_lora",
       "nanochat block in the compute dtype, attention written out: less the logsumexp, plus T x T tensors",
       S.head("nanochat/gpt.py", "84-153") + "; " + S.MEASURED, f"{NOT_V0_AMP} and {EAGER}"),
    _f("act_lora", "0 * byte/token", "no adapters", "definition", 'weights == "full"'),
    _f("act_lora", "n_lora_adapters * lora_rank * bytes_act / token",
       "each adapter keeps its r-wide intermediate (x A) for the gradient of B; x itself is kept anyway",
       S.LORA, 'weights in ("lora", "int8", "nf4")',
       assumptions=("a frozen matrix without adapter still counted as keeping its input",)),
)

OUTSIDE = (
    _f("act_outside",
       f"((24 - 4 * compile) * byte + (bytes_residual + bytes_act + byte * {DROP}) * d_model) / token"
       " + 8 * byte * sequence / (micro_batch * token)",
       "token ids (8) and targets (8); ln_f's input (r d), mean and rstd (8) and output (a d); the "
       "embedding dropout mask; the position ids (8 bytes per position, once per micro-batch)", GPT2_SRC, GPT2),
    _f("act_outside", "(24 * byte + (10 - 6 * compile) * byte * d_model) / token",
       "ids, targets; the embedding's fp32 upcast into the first norm (4 d) and rstd; the final norm's fp32 "
       "input (4 d) and rstd; lm_head's 16-bit input (2 d). Compiled: the bf16 embedding (2 d) and the "
       "final norm's bf16 output (2 d)", S.v0("nanochat/gpt.py", "259-285") + "; " + S.MEASURED + "; " + S.COMPILED,
       V0_AMP),
    _f("act_outside", "(24 * byte + (bytes_lowp + 2 * bytes_act) * d_model) / token",
       "ids, targets; the bf16 embedding into the first norm and rstd; the final norm's input, rstd and output",
       S.v0("nanochat/gpt.py", "259-285"), f"{V0} and not {AMP}"),
    _f("act_outside",
       f"(24 * byte + (5 - 3 * compile) * bytes_act * d_model + 26 * bytes_act * ({T} - 1) / {T}"
       " + n_value_embeds * bytes_act * ((1 - compile) * n_kv_head * head_dim + 2 * n_kv_head)) / token",
       "ids, targets; embedding into the first norm, its output (read by the smear) and x0; the smear gate's "
       "24-wide input, sigmoid and gate on T - 1 positions; the final norm's input and output; per value-"
       "embedding layer the looked-up values (k) and two gate tensors (2 Hkv). Compiled: three of the five "
       "d-wide tensors and the looked-up values are recomputed in the backward",
       S.head("nanochat/gpt.py", "459-521") + "; " + S.MEASURED + "; " + S.COMPILED, HEAD),
    _f("act_final", "((bytes_residual + bytes_act) * d_model + 16 * byte) / token",
       "ln_f's input, output, mean and rstd; the targets", GPT2_SRC, GPT2),
    _f("act_final", "((6 - 4 * compile) * byte * d_model + 12 * byte) / token",
       "the final norm's fp32 input and rstd, lm_head's 16-bit input (compiled: only the latter); the targets",
       S.v0("nanochat/gpt.py", "275-285"), V0_AMP),
    _f("act_final", "(2 * bytes_act * d_model + 12 * byte) / token",
       "the final norm's input, rstd and output; the targets", S.head("nanochat/gpt.py", "505-520"), NOT_V0_AMP),
    _f("act_block_out", "0 * byte/token", "blocks' outputs are kept only as the next block's norm input",
       S.nanogpt("model.py", "180-181"), f'{GPT2} or {V0}'),
    _f("act_block_out", "bytes_act * d_model * (n_layer - 1 + (1 if n_layer <= 2 else 0)) / token",
       "x = resid_lambdas[i] * x + ...: each multiply keeps the previous block's output; the backout "
       "layer's output too (kept separately when it is the last block)", S.head("nanochat/gpt.py", "499-507"),
       HEAD),
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
