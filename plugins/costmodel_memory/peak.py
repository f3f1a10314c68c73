"""Parallelism, overhead, and the peak of a training step as the largest of five moments.

The moments (all on one GPU, steady state: optimizer states exist, gradients are freed by
zero_grad(set_to_none=True) after every step, as nanoGPT and nanochat do); `peak_moment` says
which one is the peak:

1. end of forward of a later micro-step: weights, buffers, states, DDP buckets, the gradients of
   the earlier micro-steps (none when grad_accum = 1), every saved activation and the logits.
   It beats moment 2 only under autocast with full checkpointing, whose cache holds every block's
   16-bit weight cast until the forward (loss included) leaves the autocast region.
2. loss backward: moment 1 plus the gradients the loss backward allocates. The peak of most eager
   runs: the fp32 log-softmax and its two fp32 gradients sit on top of all activations.
3. backward of the last block: the loss's tensors are gone, every block's activations are still
   there; under full checkpointing the block is recomputed first (mem_recompute); the gradients of
   its activations are in flight (mem_backward_temps).
4. end of backward: the activations are freed, the embedding's gradient is being summed
   (nanoGPT's tied wte/lm_head: three V x d tensors at once).
5. optimizer step: weights, states, gradients, the step's temporaries, and the logits the training
   loop still holds. nanochat head's MuonAdamW makes this the peak on one GPU.

mem_peak adds the overhead: the CUDA context, the cuBLAS workspaces, the NCCL communicator of a
multi-GPU run, and the caching allocator's slack as a fraction of the tensor peak.
"""

from __future__ import annotations

from . import sources as S
from .weights import _f

SHARD_ALL = 'parallelism in ("zero1", "zero2", "zero3")'
LAYER_WEIGHTS = "n_params_matrices / n_layer * bytes_param / param"

DEFAULTS = (
    _f("dropout", "0", "nanoGPT's and nanochat's default: no dropout", S.nanogpt("train.py", "54"),
       overridable=True),
    _f("allocator_slack", "0.05 * (1 - expandable_segments)",
       "assumption: 5% of the tensor peak lost to rounding and fragmentation in the caching allocator; none "
       "when the script turns on expandable segments (feature expandable_segments: one segment grows and "
       "shrinks by pages instead of fixed segments fragmenting)", S.ALLOCATOR + "; " + S.EXPANDABLE,
       overridable=True),
    _f("mem_cuda_context", "287047680 * byte",
       "an empty CUDA context with lazy module loading; kernels loaded on first use add to it", S.CONTEXT,
       overridable=True),
    _f("mem_nccl", "(0 if n_gpus == 1 else (544e6 if n_gpus == 2 else 688e6)) * byte",
       "the NCCL communicator of a multi-GPU run: its channels' buffers and connections to the peers (measured "
       "per GPU with PyTorch: 544 MB for 2 GPUs, 688 MB for more); none on one GPU", S.NCCL, overridable=True),
    _f("mem_workspace", "(8519680 + 1048576) * byte",
       "cuBLAS workspace (:4096:2:16:8) + cuBLASLt workspace (1 MiB below sm90) on one stream", S.CUBLAS,
       overridable=True),
)

PARALLEL = (
    _f("shard_states", "1", "every GPU keeps all optimizer states", S.DDP_BUCKETS,
       'parallelism == "ddp" and optimizer != "muon"'),
    _f("shard_states", "1 + sharded_optimizer * (n_gpus - 1)",
       "Muon and AdamW states replicated, or sharded by the family's own distributed optimizers (feature "
       "sharded_optimizer: nanochat's DistMuon/DistAdamW and MuonAdamW shard whenever distributed)",
       S.v0("nanochat/adamw.py", "10-13, 52-55") + "; " + S.head("nanochat/optim.py", "203-244"),
       'parallelism == "ddp" and optimizer == "muon"'),
    _f("shard_states", "n_gpus", "optimizer states partitioned over the GPUs (ZeRO stage 1 and up)", S.ZERO,
       SHARD_ALL),
    _f("shard_grads", "1", "gradients whole on every GPU", S.ZERO, 'parallelism in ("ddp", "zero1")'),
    _f("shard_grads", "n_gpus", "gradients reduce-scattered to their owner", S.ZERO,
       'parallelism in ("zero2", "zero3")'),
    _f("shard_weights", "1", "weights replicated", S.ZERO, 'parallelism in ("ddp", "zero1", "zero2")'),
    _f("shard_weights", "n_gpus", "weights partitioned (FSDP full shard)", S.FSDP, 'parallelism == "zero3"'),
    _f("mem_grad_buckets", "ddp_buckets * (mem_grads if n_gpus > 1 else 0 * byte)",
       "DDP allocates buckets that hold a second copy of the gradients (feature ddp_buckets; a family that "
       "reduces gradients inside its optimizer has none)",
       S.DDP_BUCKETS + "; " + S.nanogpt("train.py", "211-212") + "; " + S.head("nanochat/optim.py", "203-207"),
       'parallelism in ("ddp", "zero1")'),
    _f("mem_grad_buckets", "0 * byte", "ZeRO-2/3 reduce-scatter per layer", S.FSDP,
       'parallelism in ("zero2", "zero3")'),
    _f("mem_gathered", "0 * byte", "nothing gathered", "definition", 'parallelism in ("ddp", "zero1")'),
    _f("mem_gathered", f"{LAYER_WEIGHTS} * (1 if n_gpus > 1 else 0)",
       "ZeRO-2: one block's whole gradients before they are reduce-scattered", S.ZERO, 'parallelism == "zero2"'),
    _f("mem_gathered", f"3 * {LAYER_WEIGHTS} * (1 if n_gpus > 1 else 0)",
       "FSDP: the running block's gathered weights, the prefetched next block's, and one block's whole "
       "gradients before reduce-scatter", S.FSDP, 'parallelism == "zero3"'),
)

MOMENTS = (
    _f("mem_backward_temps", "micro_tokens * (bytes_residual * d_model + mlp_saved * bytes_act * d_ff) / token",
       "the residual's gradient and the gradients of the d_ff-wide MLP tensors of the running block",
       S.KORTHIKANTI, assumptions=("one block's widest gradients alive at once",)),
    _f("mem_static", "mem_weights + mem_buffers + mem_optimizer_resident + mem_grad_buckets",
       "held from one step to the next", "definition"),
    _f("mem_moment_forward",
       "mem_static + (mem_grads if grad_accum > 1 else 0 * byte) + mem_gathered + mem_activations"
       " + mem_logits + mem_autocast_cache",
       "end of the forward pass: every activation and the logits, and under autocast with full checkpointing "
       "the cached weight casts", S.MEASURED + "; " + S.AUTOCAST),
    _f("mem_moment_loss",
       "mem_static + (mem_grads if grad_accum > 1 else 0 * byte) + mem_gathered + mem_activations"
       " + mem_logits + mem_logits_backward",
       "backward of the loss of a later micro-step: all activations, the logits and the loss's gradients, "
       "with the gradients of the earlier micro-steps (compiled: the saved 16-bit logits and their 16-bit "
       "gradient side by side; eager: the fp32 log-softmax and its two fp32 gradients)",
       S.MEASURED + "; " + S.INPLACE),
    _f("mem_moment_backward",
       "mem_static + (mem_grads if grad_accum > 1 else (vocab_size + d_ff) * d_model * bytes_param)"
       " + mem_gathered"
       " + mem_activations - micro_tokens * act_final - amp * bytes_lowp * vocab_size * d_model"
       " + mem_logits_held + mem_recompute + mem_backward_temps",
       "backward of the last block: the loss, the final norm and lm_head are done (their saved tensors and "
       "lm_head's weight copy freed), every block's activations are still there, the gradients are "
       "complete (with grad_accum = 1 only lm_head's and the block's first, its MLP down projection's); under "
       "full checkpointing the block is recomputed first", S.MEASURED + "; " + S.CHEN),
    _f("mem_embedding_grad_temps",
       "tied_embeddings * (3 if grad_accum > 1 else 2) * vocab_size_padded * d_model * bytes_param"
       " + (1 - tied_embeddings) * (vocab_size_padded * d_model * bytes_embedding if grad_accum > 1 else 0 * byte)",
       "tied: lm_head's gradient and the embedding's dense gradient are summed out of place (three V x d "
       "tensors) before they are added to the weight's grad; untied: the embedding's dense gradient in its dtype, "
       "added in place to the grad of an earlier micro-step",
       S.nanogpt("model.py", "138") + "; " + S.v0("nanochat/gpt.py", "173") + "; "
       + S.head("nanochat/gpt.py", "262-268") + "; " + S.MEASURED),
    _f("mem_moment_end", "mem_static + mem_grads + mem_gathered + mem_logits_held + mem_embedding_grad_temps",
       "end of backward: activations freed, the embedding's gradients being summed", S.MEASURED),
    _f("mem_moment_step",
       "mem_static + mem_grads + mem_optimizer_paged_in + mem_optimizer_step_gpu + mem_logits_held",
       "optimizer step: gradients, states and the step's temporaries", S.MEASURED),
    _f("mem_tensors_peak",
       "max(mem_moment_forward, mem_moment_loss, mem_moment_backward, mem_moment_end, mem_moment_step)",
       "the peak of the step is the largest moment", "definition"),
    _f("peak_moment",
       "1 if mem_moment_forward >= mem_tensors_peak else (2 if mem_moment_loss >= mem_tensors_peak else"
       " (3 if mem_moment_backward >= mem_tensors_peak else (4 if mem_moment_end >= mem_tensors_peak else 5)))",
       "1: end of forward, 2: loss backward, 3: backward of the last block, 4: end of backward, "
       "5: optimizer step", "definition"),
    _f("mem_overhead", "mem_cuda_context + mem_workspace + mem_nccl + allocator_slack * mem_tensors_peak",
       "CUDA context, cuBLAS workspaces, NCCL's buffers, caching-allocator slack",
       S.CONTEXT + "; " + S.CUBLAS + "; " + S.NCCL + "; " + S.ALLOCATOR),
    _f("mem_peak", "mem_tensors_peak + mem_overhead", "what the GPU must hold at the peak of a step", "definition"),
    _f("mem_free", "max(gpu_memory_usable - mem_peak, 0 * byte)", "usable memory left over at the peak",
       "definition"),
    _f("mem_used", "min(mem_peak, gpu_memory_usable)",
       "memory held on the card at the peak: the step's peak, or all of the usable memory when it needs more",
       "definition (an allocation beyond gpu_memory_usable raises torch.cuda.OutOfMemoryError)"),
    _f("mem_shortfall", "max(mem_peak - gpu_memory_usable, 0 * byte)",
       "how much more memory the step needs than the GPU has (0 when it fits)", "definition"),
    _f("fits", "1 if mem_peak <= gpu_memory_usable else 0", "whether the step fits in the usable memory",
       "definition"),
)

FORMULAS = DEFAULTS + PARALLEL + MOMENTS
