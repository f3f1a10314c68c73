"""Element sizes of each precision, the parameter groups, and the memory of weights and gradients.

Precision (costmodel_core's recipe) fixes three sizes: `bytes_act` (the compute dtype: what
matmuls read and write), `bytes_param` (how a trainable weight is stored; its gradient and AdamW
states take the same dtype, as torch makes them `zeros_like(param)`), and `amp` (1 when 16-bit
matmuls run on fp32 weights, so that every matmul weight is cast to a 16-bit copy that autograd
saves for backward).

The `weights` recipe freezes the base and trains LoRA adapters: the hidden matrices are then held
in 16 bit, int8 (one fp32 scale per output row) or NF4 (4 bits, an 8-bit absmax per 64 weights and
an fp32 absmax per 256 of those); the other parameters stay frozen in the compute dtype.
"""

from __future__ import annotations

from costmodel.declarations import Formula

from . import sources as S

AMP = 'precision in ("amp-bf16", "amp-fp16")'
GATED = 'mlp in ("swiglu", "geglu")'
PLAIN = 'mlp in ("gelu", "relu2")'
FULL = 'weights == "full"'
FROZEN = 'weights in ("lora", "int8", "nf4")'
T = "(seq_len * sequence/token)"  # positions of a sequence, as a plain number


def _f(target, expr, doc, source, condition=None, **kw) -> Formula:
    return Formula(target=target, expr=expr, doc=doc, source=source, condition=condition, **kw)


PRECISION = (
    _f("bytes_act", "2 * byte", "matmuls and activations in bf16/fp16", S.AUTOCAST,
       'precision in ("amp-bf16", "amp-fp16", "bf16")'),
    _f("bytes_act", "4 * byte", "everything in fp32", "definition", 'precision == "fp32"'),
    _f("bytes_param", "4 * byte", "fp32 master weights (their grads and AdamW states fp32 too)",
       S.nanogpt("train.py", "109-112") + "; PyTorch AMP docs (torch.autocast keeps parameters fp32)",
       'precision in ("amp-bf16", "amp-fp16", "fp32")'),
    _f("bytes_param", "2 * byte", "pure bf16: weights, grads and states in bf16",
       "Kalamkar et al. 2019 (arXiv:1905.12322)", 'precision == "bf16"'),
    _f("bytes_lowp", "2 * byte", "a 16-bit element", "IEEE 754 binary16 / bfloat16"),
    _f("amp", "1", "16-bit matmuls on fp32 weights: each weight is cast per use", S.AUTOCAST, AMP),
    _f("amp", "0", "the weights are already in the compute dtype", "definition",
       'precision in ("bf16", "fp32")'),
    _f("autocast", "amp_autocast * amp", "amp runs as torch.autocast unless the model casts its weights itself "
       "(feature amp_autocast)", S.AUTOCAST),
    _f("bytes_embedding", "embedding_lowp * bytes_lowp + (1 - embedding_lowp) * bytes_param",
       "the embedding tables' dtype: 16 bit (feature embedding_lowp) or the master dtype", "definition"),
)

ATTN_ROWS = "(2 + 2 * (1 - qkv_fused)) * d_model + 2 * n_head * head_dim + 2 * n_kv_head * head_dim"
GROUPS = (
    _f("mlp_matrices", "2", "up and down", S.VASWANI, PLAIN),
    _f("mlp_matrices", "3", "gate, up and down", S.SHAZEER, GATED),
    _f("n_params_lowp", "embedding_lowp * n_params_embeddings",
       "the embedding tables when the family stores them in 16 bit (feature embedding_lowp)", S.EMBEDDING_LOWP),
    _f("n_params_small", "(n_params_vectors if d_model < 4096 else 0 * param)",
       "norm weights and biases, Linear biases, scalars: vectors of d (or q, kv, d_ff), under 4096 elements "
       "when d < 4096", S.bnb("bitsandbytes/optim/optimizer.py", "502"),
       assumptions=("biases of widths q + 2 kv or d_ff counted as small even when they reach 4096",)),
    _f("n_lora_adapters", "4 - 2 * qkv_fused + mlp_matrices",
       "every matrix of the block: q, k, v (one fused Linear or three), the output, and the MLP's",
       S.QLORA, 'lora_targets == "all-linear"'),
    _f("n_lora_adapters", "4 - 2 * qkv_fused", "q, k, v (fused or not) and the output", S.LORA,
       'lora_targets == "attention"'),
    _f("lora_rows", f"{ATTN_ROWS} + mlp_matrices * (d_model + d_ff)",
       "input + output widths: q, k, v (d + q + 2 kv fused, else three times d), the output (q + d), each MLP "
       "matrix (d + d_ff)", S.LORA, 'lora_targets == "all-linear"'),
    _f("lora_rows", ATTN_ROWS, "input + output widths of q, k, v and the output", S.LORA,
       'lora_targets == "attention"'),
    _f("lora_rank", "8", "huggingface/peft LoraConfig default rank", S.LORA, overridable=True),
    _f("n_params_lora", "lora_rank * lora_rows * n_layer * param",
       "an adapter on a d_in x d_out matrix is A (r x d_in) and B (d_out x r)", S.LORA),
    _f("matrix_rows", "n_head * head_dim + 2 * n_kv_head * head_dim + d_model + (mlp_matrices - 1) * d_ff + d_model",
       "output rows: q, k, v, the output (d), the MLP's up (and gate) d_ff each and down d", S.VASWANI),
    _f("n_params_trainable", "n_params", "every parameter is trained", "definition", FULL),
    _f("n_params_trainable", "n_params_lora", "only the adapters are trained", S.LORA, FROZEN),
    _f("n_params_frozen", "n_params - n_params_trainable", "everything but the adapters is frozen", S.LORA, FROZEN),
)

WEIGHTS = (
    _f("mem_frozen", "0 * byte", "nothing is frozen", "definition", FULL),
    _f("mem_frozen", "n_params * bytes_act / param", "the whole base in the compute dtype (16 bit)", S.LORA,
       'weights == "lora"'),
    _f("mem_frozen",
       "n_params_matrices * byte/param + 4 * byte * matrix_rows * n_layer"
       " + (n_params - n_params_matrices) * bytes_act / param",
       "hidden matrices: int8 weights + an fp32 scale per output row (SCB); the rest in the compute dtype",
       S.LLM_INT8 + "; " + S.bnb("bitsandbytes/_ops.py", "95-98") + "; "
       + S.bnb("bitsandbytes/nn/modules.py", "719-746"), 'weights == "int8"',
       assumptions=("lm_head, embeddings and norms stay unquantised (llm_int8_skip_modules keeps lm_head)",)),
    _f("mem_frozen",
       "n_params_matrices * (1/2 + 1/64 + 4/(64*256)) * byte/param"
       " + (n_params - n_params_matrices) * bytes_act / param",
       "hidden matrices in NF4: 4 bits + one uint8 absmax per 64 weights + one fp32 absmax per 256 absmax "
       "(4.127 bits per weight); the rest in the compute dtype",
       S.QLORA + "; " + S.bnb("bitsandbytes/functional.py", "917-918, 938-949") + "; "
       + S.bnb("bitsandbytes/_ops.py", "233-235, 340-350"), 'weights == "nf4"',
       assumptions=("blocksize 64 and compress_statistics=True (Linear4bit defaults)",
                    "per-tensor offsets (4 bytes) and the shared code books (1 KiB) left out")),
    _f("mem_weights",
       "((n_params - n_params_lowp) * bytes_param + n_params_lowp * bytes_lowp) / param / shard_weights",
       "every parameter in its stored dtype (the master dtype; 16-bit embedding tables), sharded under zero3",
       S.nanogpt("model.py", "118-140") + "; " + S.EMBEDDING_LOWP, FULL),
    _f("mem_weights", "(mem_frozen + n_params_lora * bytes_param / param) / shard_weights",
       "frozen base + trainable adapters in the master dtype", S.QLORA, FROZEN),
    _f("mem_grads",
       "((n_params - n_params_lowp) * bytes_param + n_params_lowp * bytes_lowp) / param / shard_grads",
       "one gradient per parameter in the parameter's dtype (param.grad), sharded under zero2/zero3",
       S.TORCH.format(path="torch/csrc/autograd/functions/accumulate_grad.h (grad takes the param's dtype)"), FULL),
    _f("mem_grads", "n_params_lora * bytes_param / param / shard_grads", "gradients of the adapters only",
       S.QLORA, FROZEN),
    _f("mem_weight_copies", "amp * bytes_lowp * n_params_matmul_weights / param",
       "under amp every matmul weight is cast to 16 bit once per forward (autocast caches the cast; nanochat "
       "head's Linear casts in forward) and autograd keeps that copy for the backward of the matmul",
       S.AUTOCAST + "; " + S.head("nanochat/gpt.py", "45-50") + "; " + S.MEASURED,
       FULL + ' and checkpointing in ("none", "selective")'),
    _f("mem_weight_copies", "amp * bytes_lowp * vocab_size * d_model",
       "full checkpointing: the blocks' copies are not kept (rebuilt with the block in backward); lm_head's is",
       S.CHEN + "; " + S.AUTOCAST, FULL + ' and checkpointing == "full"'),
    _f("mem_autocast_cache",
       "autocast * bytes_lowp * (n_params_matmul_weights / param - vocab_size * d_model)",
       "full checkpointing under autocast: the blocks' weight casts stay in autocast's cache until the "
       "forward (loss included) leaves the autocast region, although nothing saves them",
       S.AUTOCAST + " (the cache is cleared on exiting the outermost autocast region)",
       FULL + ' and checkpointing == "full"'),
    _f("mem_autocast_cache", "0 * byte", "every cached cast is also saved (counted in mem_weight_copies)",
       S.AUTOCAST, 'weights != "full" or checkpointing in ("none", "selective")'),
    _f("mem_weight_copies", "amp * bytes_lowp * n_params_lora / param",
       "16-bit copies of the adapters; the frozen base is already 16 bit (or dequantised per matmul)",
       S.QLORA, FROZEN),
    _f("quantised_flops_ratio", "1",
       "4-bit and 8-bit weights save memory, not FLOPs: bitsandbytes dequantises each weight to the compute "
       "dtype and runs an ordinary 16-bit matmul, so flops_per_token is unchanged",
       S.QLORA + " (the storage type is dequantised to the computation type for the forward and backward "
       "pass); " + S.bnb("bitsandbytes/nn/modules.py", "504-546") + " (Linear4bit, compute_dtype)"),
)

BUFFERS = (
    _f("mem_rotary_cache", "n_positions * head_dim * (embedding_lowp * bytes_lowp + (1 - embedding_lowp) * bytes_act)",
       "rotary cos and sin tables of (n_positions, head_dim / 2) each, in the embeddings' 16-bit dtype or the "
       "compute dtype", S.v0("nanochat/gpt.py", "167-171, 213") + "; " + S.head("nanochat/gpt.py", "197-201, 283"),
       'positions == "rotary"'),
    _f("mem_rotary_cache", "0 * byte", "learned positions are a parameter, not a buffer", "definition",
       'positions == "learned"'),
    _f("mem_buffers", "mem_rotary_cache", "SDPA needs no mask buffer", S.nanogpt("model.py", "45-50"),
       'attention == "flash"'),
    _f("mem_buffers", f"mem_rotary_cache + causal_mask_buffer * 4 * byte * n_layer * {T}**2",
       "a (1, 1, T, T) fp32 causal mask registered per layer (feature causal_mask_buffer: nanoGPT's slow path)",
       S.nanogpt("model.py", "46-50"), 'attention == "eager"'),
)

FORMULAS = PRECISION + GROUPS + WEIGHTS + BUFFERS
