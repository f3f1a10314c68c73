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

GPT2 = 'layout == "gpt2"'
NANOCHAT = 'layout == "nanochat"'
V0 = 'layout == "nanochat" and version == "v0"'
HEAD = 'layout == "nanochat" and version == "head"'
AMP = 'precision in ("amp-bf16", "amp-fp16")'
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
)

GROUPS = (
    _f("n_params_matrices", "12 * n_layer * d_model**2 * param",
       "GPT-2 block: c_attn 3d^2 + c_proj d^2 + c_fc 4d^2 + c_proj 4d^2", S.nanogpt("model.py", "35-37, 82-84"),
       GPT2),
    _f("n_params_matrices", "n_params_transformer_matrices",
       "every parameter inside nanochat's blocks (Muon's group)", S.v0("nanochat/gpt.py", "232") + "; "
       + S.head("nanochat/gpt.py", "423"), NANOCHAT),
    _f("n_params_matmul_weights", "(12 * n_layer * d_model**2 + vocab_size * d_model) * param",
       "block matrices and the lm_head (the tied wte: the embedding lookup reads fp32, lm_head casts)",
       S.nanogpt("model.py", "138, 186"), GPT2),
    _f("n_params_matmul_weights", "n_params_matmul",
       "every Linear weight: blocks, lm_head (and head's smear gate)", S.head("nanochat/gpt.py", "341-349"),
       NANOCHAT),
    _f("n_params_lowp", "0 * param", "nanoGPT keeps every parameter in the master dtype",
       S.nanogpt("model.py", "118-140"), GPT2),
    _f("n_params_lowp", "n_params_wte", "v0 casts wte to bf16 in GPT.__init__, on every device",
       S.v0("nanochat/gpt.py", "172-173"), V0),
    _f("n_params_lowp", "n_params_adamw_embedding", "head stores wte and the value embeddings in COMPUTE_DTYPE (bf16)",
       S.head("nanochat/gpt.py", "262-268"), HEAD + ' and precision in ("amp-bf16", "bf16")'),
    _f("n_params_lowp", "0 * param", "head keeps fp32 embeddings for fp16 (GradScaler) and fp32 compute",
       S.head("nanochat/gpt.py", "262-268"), HEAD + ' and precision in ("amp-fp16", "fp32")'),
    _f("n_params_small",
       f"(n_params - (12 * n_layer * d_model**2 + (vocab_size + {T}) * d_model) * param)"
       " if d_model < 4096 else 0 * param",
       "LayerNorm weights and biases (vectors of d, 3d, 4d): under 4096 elements when d < 4096",
       S.bnb("bitsandbytes/optim/optimizer.py", "502"),
       GPT2, assumptions=("3d- and 4d-long biases counted as small even when 3d or 4d reaches 4096",)),
    _f("n_params_small", "n_params_scalars + n_value_embeds * 12 * n_kv_head * param",
       "per-layer lambdas, smear gate and value-embedding gates (head; none in v0)",
       S.head("nanochat/gpt.py", "82, 182-188"), NANOCHAT),
    _f("n_lora_adapters", "4", "c_attn, c_proj, c_fc, c_proj", S.QLORA, GPT2 + ' and lora_targets == "all-linear"'),
    _f("n_lora_adapters", "2", "c_attn, c_proj", S.LORA, GPT2 + ' and lora_targets == "attention"'),
    _f("n_lora_adapters", "6", "c_q, c_k, c_v, c_proj, c_fc, c_proj", S.QLORA,
       NANOCHAT + ' and lora_targets == "all-linear"'),
    _f("n_lora_adapters", "4", "c_q, c_k, c_v, c_proj", S.LORA, NANOCHAT + ' and lora_targets == "attention"'),
    _f("lora_rows", "16 * d_model", "(d+3d) + (d+d) + (d+4d) + (4d+d)", S.LORA,
       GPT2 + ' and lora_targets == "all-linear"'),
    _f("lora_rows", "6 * d_model", "(d+3d) + (d+d)", S.LORA, GPT2 + ' and lora_targets == "attention"'),
    _f("lora_rows", "14 * d_model + 2 * n_head * head_dim + 2 * n_kv_head * head_dim",
       "c_q d+q, c_k and c_v d+k each, c_proj q+d, c_fc 5d, c_proj 5d", S.LORA,
       NANOCHAT + ' and lora_targets == "all-linear"'),
    _f("lora_rows", "4 * d_model + 2 * n_head * head_dim + 2 * n_kv_head * head_dim",
       "c_q d+q, c_k and c_v d+k each, c_proj q+d", S.LORA, NANOCHAT + ' and lora_targets == "attention"'),
    _f("lora_rank", "8", "huggingface/peft LoraConfig default rank", S.LORA, overridable=True),
    _f("n_params_lora", "lora_rank * lora_rows * n_layer * param",
       "an adapter on a d_in x d_out matrix is A (r x d_in) and B (d_out x r)", S.LORA),
    _f("matrix_rows", "9 * d_model", "output rows: c_attn 3d, c_proj d, c_fc 4d, c_proj d",
       S.nanogpt("model.py", "35-37, 82-84"), GPT2),
    _f("matrix_rows", "n_head * head_dim + 2 * n_kv_head * head_dim + 6 * d_model",
       "output rows: c_q q, c_k and c_v k, c_proj d, c_fc 4d, c_proj d", S.v0("nanochat/gpt.py", "74-77, 132-133"),
       NANOCHAT),
    _f("n_params_trainable", "n_params", "every parameter is trained", "definition", FULL),
    _f("n_params_trainable", "n_params_lora", "only the adapters are trained", S.LORA, FROZEN),
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
       "every parameter in its stored dtype (master dtype; nanochat's 16-bit embeddings), sharded under zero3",
       S.nanogpt("model.py", "118-140") + "; " + S.v0("nanochat/gpt.py", "172-173") + "; "
       + S.head("nanochat/gpt.py", "262-268"), FULL),
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
    _f("mem_buffers", "0 * byte", "SDPA needs no mask buffer", S.nanogpt("model.py", "45-50"),
       GPT2 + ' and attention == "flash"'),
    _f("mem_buffers", f"4 * byte * n_layer * {T}**2",
       "nanoGPT's slow path registers a (1, 1, T, T) fp32 causal mask `bias` in every layer",
       S.nanogpt("model.py", "46-50"), GPT2 + ' and attention == "eager"'),
    _f("mem_buffers", f"10 * {T} * head_dim * bytes_lowp",
       "rotary cos and sin of (1, 10 T, 1, head_dim/2) in bf16", S.v0("nanochat/gpt.py", "167-171, 213"), V0),
    _f("mem_buffers", f"10 * {T} * head_dim * bytes_act",
       "rotary cos and sin of (1, 10 T, 1, head_dim/2) in COMPUTE_DTYPE", S.head("nanochat/gpt.py", "197-201, 283"),
       HEAD),
)

FORMULAS = PRECISION + GROUPS + WEIGHTS + BUFFERS
