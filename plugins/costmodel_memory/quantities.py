"""The names the memory model adds to the vocabulary, and its recipes.

Byte sizes per element (`bytes_*`) are in byte; per-token sizes in byte/token; counts in param.
The recipes `precision`, `attention`, `checkpointing` and the switch `compile` belong to
costmodel_core; this plugin adds `optimizer`, `weights`, `lora_targets`, `parallelism`. The
architecture features it reads (mlp, norm, tied_embeddings, ...) are costmodel_core's too.
"""

from __future__ import annotations

from costmodel.declarations import Caveat, Choice, Quantity, Recipe

from . import sources as S


def _q(name: str, unit: str, doc: str, kind: str = "real", **kw) -> Quantity:
    return Quantity(name=name, unit=unit, doc=doc, kind=kind, **kw)


def _params(name: str, doc: str) -> Quantity:
    return Quantity(name=name, unit="param", doc=doc)


QUANTITIES = (
    # --- inputs with default rules (give them to change the assumption) ---------------------
    _q("dropout", "1", "dropout probability of the model (0: no masks are stored)"),
    _q("lora_rank", "1", "LoRA rank r of every adapter", "integer", positive=True),
    _q("allocator_slack", "1", "caching-allocator rounding and fragmentation, as a fraction of the tensor peak"),
    _q("mem_cuda_context", "byte", "CUDA context of the training process (driver, runtime, loaded kernels)"),
    _q("mem_workspace", "byte", "cuBLAS / cuBLASLt workspaces"),
    _q("mem_nccl", "byte", "NCCL communicator buffers of a multi-GPU run, per GPU"),
    # --- element sizes of the precision recipe ----------------------------------------------
    _q("bytes_act", "byte", "bytes per element of activations in the compute dtype (bf16/fp16: 2, fp32: 4)"),
    _q("bytes_param", "byte", "bytes per trainable weight as stored (master weights: fp32 4 under amp, bf16 2)"),
    _q("bytes_residual", "byte", "bytes per element of the residual stream"),
    _q("bytes_lowp", "byte", "bytes per element of a 16-bit tensor (2)"),
    _q("autocast", "1", "1 when the forward runs under torch.autocast (its fp32 op list applies), else 0"),
    _q("norm_upcast", "1", "1 when autocast runs the model's norms in fp32 (their outputs fp32), else 0"),
    _q("amp", "1", "1 when matmuls run in 16 bit on fp32 weights (autocast or cast-in-forward), else 0"),
    # --- parameter groups ------------------------------------------------------------------
    _q("bytes_embedding", "byte", "bytes per element of the embedding tables as stored"),
    _q("mlp_matrices", "1", "matrices of one MLP: 2 (gelu, relu2) or 3 (gated)"),
    _params("n_params_lowp", "parameters stored in 16 bit whatever the master dtype (feature embedding_lowp)"),
    _params("n_params_small", "parameters in tensors under 4096 elements (kept in 32 bit by 8-bit optimizers)"),
    _params("n_params_lora", "LoRA adapter parameters (A and B of every targeted matrix)"),
    _params("n_params_trainable", "parameters that get gradients and optimizer states"),
    _q("n_lora_adapters", "1", "LoRA adapters per layer"),
    _q("lora_rows", "1", "sum of input + output widths of the targeted matrices of one layer"),
    _q("matrix_rows", "1", "output rows of the hidden matrices of one layer (int8 keeps one fp32 scale per row)"),
    # --- activations ---------------------------------------------------------------------------
    _q("micro_tokens", "token", "tokens of one micro-batch on one GPU (micro_batch x seq_len)"),
    _q("norm_stat_bytes", "byte", "statistics one norm saves per row (LayerNorm mean and rstd, RMSNorm rstd)"),
    _q("mlp_saved", "1", "d_ff-wide tensors one MLP saves for backward"),
    _q("act_position_ids", "byte/token", "position ids saved by a learned position table, per token"),
    _q("mem_rotary_cache", "byte", "rotary cos and sin tables (buffers)"),
    _q("act_layer", "byte/token", "bytes one block saves for backward, per token (no checkpointing)"),
    _q("act_layer_kept", "byte/token", "bytes one block keeps per token under the checkpointing recipe"),
    _q("act_attention_matrix", "byte/token", "bytes of the T x T attention tensors (and GQA's repeated K/V) one block saves, per token (eager)"),
    _q("act_lora", "byte/token", "bytes the LoRA adapters of one block save per token"),
    _q("act_rotary", "byte/token", "bytes one block saves per token for rotary q and k made from a fused q/k/v output"),
    _q("act_outside", "byte/token", "bytes saved per token outside the blocks (embedding, final norm, loss inputs)"),
    _q("act_final", "byte/token", "of act_outside, what the final norm and the loss keep (freed after their backward)"),
    _q("act_block_out", "byte/token", "block outputs kept by a family's own input scaling of the next block, per token"),
    _q("mem_mask", "byte", "causal masks built per layer in eager attention (T x T bool each)"),
    _q("mem_weight_copies", "byte", "16-bit copies of the weights made for the matmuls and saved for backward"),
    _q("mem_autocast_cache", "byte", "weight casts autocast holds until the forward ends that nothing saves"),
    _q("mem_buffers", "byte", "non-trainable buffers of the model (causal mask, rotary tables)"),
    _q("mem_recompute", "byte", "one block's activations, rebuilt during its backward under full checkpointing"),
    _q("mem_backward_temps", "byte", "gradients of activations in flight while one block runs backward"),
    # --- logits --------------------------------------------------------------------------------
    _q("mem_logits_saved", "byte", "logit-sized tensors saved for backward (log-softmax, softcap output)"),
    _q("mem_logits_held", "byte", "logits the training loop keeps referenced (nanoGPT: `logits, loss = model(X, Y)`)"),
    _q("mem_logits_backward", "byte", "logit-sized gradients alive at once in the backward of the loss"),
    # --- states, parallelism, moments -------------------------------------------------------
    _q("mem_frozen", "byte", "frozen base weights (16-bit, int8 or NF4) under LoRA"),
    _q("dequant_passes", "1", "times each quantised matrix is unpacked per micro-step (forward, backward, recompute)"),
    _q("mem_grad_buckets", "byte", "DDP's gradient buckets (a second copy of the gradients)"),
    _q("mem_optimizer_step", "byte", "temporaries of the optimizer step (stacked Muon buffers, Newton-Schulz)"),
    _q("mem_gathered", "byte", "FSDP/ZeRO-3 weights gathered for the running and the prefetched layer"),
    _q("shard_states", "1", "how many GPUs share the optimizer states (1: replicated)"),
    _q("shard_grads", "1", "how many GPUs share the gradients"),
    _q("shard_weights", "1", "how many GPUs share the weights"),
    _q("mem_static", "byte", "memory held through the whole step: weights, buffers, optimizer states, DDP buckets"),
    _q("mem_moment_forward", "byte", "tensors alive at the end of the forward pass (the loss computed)"),
    _q("mem_moment_loss", "byte", "tensors alive in the backward of the loss of a later micro-step"),
    _q("mem_moment_backward", "byte", "tensors alive while the last block runs backward (recomputed first under full)"),
    _q("mem_embedding_grad_temps", "byte", "embedding-sized gradients alive at the end of backward"),
    _q("mem_moment_end", "byte", "tensors alive at the end of backward, when the embedding's gradient is summed"),
    _q("mem_moment_step", "byte", "tensors alive during the optimizer step"),
    _q("mem_tensors_peak", "byte", "the largest of the five moments: all tensors at the peak"),
    _q("peak_moment", "1", "which moment is the peak: 1 end of forward, 2 loss backward, 3 block backward, "
       "4 end of backward, 5 optimizer step"),
    _q("mem_free", "byte", "usable GPU memory left at the peak (0 when it does not fit)"),
    _q("mem_used", "byte", "memory the run holds on the GPU at its peak, as nvidia-smi shows it (all of the "
       "usable memory when the step does not fit)", limit="gpu_memory_usable"),
    _q("mem_shortfall", "byte", "memory the step needs beyond the GPU's usable memory (0 when it fits)"),
    _q("fits", "1", "1 if the peak fits in the GPU's usable memory, else 0", "bool"),
    _q("quantised_flops_ratio", "1", "matmul FLOPs with quantised weights over 16-bit weights (1: no saving)"),
)


RECIPES = (
    Recipe(
        name="optimizer",
        doc="optimizer and the states it keeps per parameter",
        default="adamw",
        choices=(
            Choice(name="adamw", doc="AdamW: exp_avg and exp_avg_sq in the parameter's dtype (fused step)",
                   source=S.ADAMW_TORCH),
            Choice(name="adamw8bit", doc="bitsandbytes AdamW8bit: two uint8 states + fp32 absmax per 256; "
                   "tensors under 4096 elements keep fp32 states", source=S.ADAM8BIT + "; "
                   + S.bnb("bitsandbytes/optim/optimizer.py", "403-529")),
            Choice(name="muon", doc="Muon for the hidden matrices (one momentum buffer), AdamW for embeddings, "
                   "lm_head and scalars, as nanochat groups them; sharded over GPUs as nanochat does",
                   source=S.MUON + "; " + S.v0("nanochat/gpt.py", "228-257") + "; "
                   + S.head("nanochat/gpt.py", "419-457")),
            Choice(name="sgd", doc="SGD with momentum: one buffer in the parameter's dtype",
                   source=S.TORCH.format(path="torch/optim/sgd.py (momentum_buffer)"),
                   caveats=[Caveat(text="plain SGD with momentum trains transformers markedly worse than "
                                   "Adam-type optimizers: the model counts its memory, not its convergence",
                                   source="Zhang et al. 2020, Why are Adaptive Methods Good for Attention "
                                   "Models? (arXiv:1912.03194)")]),
        ),
    ),
    Recipe(
        name="weights",
        doc="how the weights are held: all trainable, or a frozen base (16-bit, int8, NF4) with LoRA adapters",
        default="full",
        choices=(
            Choice(name="full", doc="every weight trainable, stored in the master dtype", source="definition"),
            Choice(name="lora", doc="frozen 16-bit base, trainable LoRA adapters", source=S.LORA),
            Choice(name="int8", doc="frozen base matrices in int8 with an fp32 scale per row (bitsandbytes "
                   "Linear8bitLt), LoRA adapters", source=S.LLM_INT8 + "; "
                   + S.bnb("bitsandbytes/_ops.py", "95-98")),
            Choice(name="nf4", doc="frozen base matrices in 4-bit NormalFloat, absmax per 64 quantised to 8 bit "
                   "per 256 (QLoRA double quantisation), LoRA adapters", source=S.QLORA + "; "
                   + S.bnb("bitsandbytes/functional.py", "917-949")),
        ),
    ),
    Recipe(
        name="lora_targets",
        doc="which matrices of each block get LoRA adapters",
        default="all-linear",
        choices=(
            Choice(name="all-linear", doc="every matrix of the block (QLoRA's choice)", source=S.QLORA),
            Choice(name="attention", doc="the attention projections only (LoRA paper's q, k, v, o)", source=S.LORA),
        ),
    ),
    Recipe(
        name="parallelism",
        doc="how n_gpus share the model: replicated (DDP) or sharded (ZeRO stages / FSDP)",
        default="ddp",
        choices=(
            Choice(name="ddp", doc="everything replicated; DDP keeps gradient buckets", source=S.DDP_BUCKETS),
            Choice(name="zero1", doc="optimizer states sharded over n_gpus", source=S.ZERO),
            Choice(name="zero2", doc="optimizer states and gradients sharded", source=S.ZERO),
            Choice(name="zero3", doc="states, gradients and weights sharded (FSDP full shard)",
                   source=S.ZERO + "; " + S.FSDP),
        ),
    ),
)
