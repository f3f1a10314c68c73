"""Optimizer states and the temporaries of the optimizer step.

adamw      exp_avg and exp_avg_sq, each `zeros_like(param)`: 2 x the parameter's bytes. The step is
           the fused kernel (nanoGPT on CUDA, nanochat v0's torch AdamW) and makes no temporaries.
adamw8bit  bitsandbytes Optimizer2State with 8 bits: state1 and state2 uint8 (1 byte each) and
           absmax1/absmax2 fp32 per block of 256 elements (2 + 8/256 bytes per parameter); a
           tensor with fewer than 4096 elements keeps two fp32 states (8 bytes).
muon       as nanochat groups it: Muon for the block matrices (one momentum buffer in the
           parameter's dtype; head also a factored second moment of max(rows, cols) per
           matrix), AdamW for embeddings, lm_head and scalars (16-bit embeddings get 16-bit
           states). nanochat shards both over the GPUs when distributed (v0 DistMuon/DistAdamW,
           head MuonAdamW "ZeRO-2 style"); the gradients stay whole on every rank.
sgd        one momentum buffer in the parameter's dtype.

The step's temporaries: nanochat head's MuonAdamW stacks every Muon gradient (phase 1) and every
owned parameter (phase 2) before it writes anything back, so on one GPU the step holds two more
fp32 copies of the matrices (optim.py L300, L388, L404). Keller Jordan's Muon (nanochat v0, and
Muon on any family without `muon_stacked`) orthogonalises one matrix at a time in bf16.
"""

from __future__ import annotations

from . import sources as S
from .weights import FROZEN, FULL, _f

STORED = "((n_params - n_params_lowp) * bytes_param + n_params_lowp * bytes_lowp) / param"
ADAM8 = "(2 + 8/256) * byte"
MUON_FULL = f'optimizer == "muon" and {FULL}'
REST = "(2 * n_params_lowp * bytes_lowp + 2 * (n_params - n_params_matrices - n_params_lowp) * bytes_param)"

STATES = (
    _f("mem_optimizer", f"2 * {STORED} / shard_states",
       "exp_avg and exp_avg_sq in each parameter's dtype", S.ADAMW_TORCH, f'optimizer == "adamw" and {FULL}'),
    _f("mem_optimizer", "2 * n_params_lora * bytes_param / param / shard_states", "AdamW states of the adapters",
       S.ADAMW_TORCH, f'optimizer == "adamw" and {FROZEN}'),
    _f("mem_optimizer",
       f"((n_params - n_params_small) * {ADAM8} + n_params_small * 8 * byte) / param / shard_states",
       "two uint8 states + two fp32 absmax per 256 elements; tensors under 4096 elements: two fp32 states",
       S.ADAM8BIT + "; " + S.bnb("bitsandbytes/optim/optimizer.py", "414, 502-529") + "; "
       + S.bnb("bitsandbytes/optim/adamw.py", "62-73"), f'optimizer == "adamw8bit" and {FULL}'),
    _f("mem_optimizer",
       f"n_params_lora * ({ADAM8} if lora_rank * d_model >= 4096 else 8 * byte) / param / shard_states",
       "8-bit states of the adapters (an adapter of r x d elements under 4096 keeps fp32 states)",
       S.bnb("bitsandbytes/optim/optimizer.py", "502-529"), f'optimizer == "adamw8bit" and {FROZEN}'),
    _f("mem_optimizer",
       f"(n_params_matrices * bytes_param + muon_stacked * n_layer * (4 * d_model + mlp_matrices * d_ff) * param"
       f" * bytes_param + {REST}) / param / shard_states",
       "Muon: one momentum buffer per block matrix (stacked, as MuonAdamW: also a factored second moment of "
       "max(rows, cols) per matrix); AdamW: two states for everything else, in each parameter's dtype",
       S.MUON + "; " + S.v0("nanochat/muon.py", "77-79, 171-173") + "; " + S.v0("nanochat/adamw.py", "52-55")
       + "; " + S.head("nanochat/optim.py", "337-341, 376-382"), MUON_FULL,
       assumptions=("q and kv widths at most d_model, d_ff at least d_model, in the second-moment count",)),
    _f("mem_optimizer", "n_params_lora * bytes_param / param / shard_states",
       "one momentum buffer per adapter matrix", S.MUON, f'optimizer == "muon" and {FROZEN}'),
    _f("mem_optimizer", f"{STORED} / shard_states", "one momentum buffer per parameter",
       S.TORCH.format(path="torch/optim/sgd.py"), f'optimizer == "sgd" and {FULL}'),
    _f("mem_optimizer", "n_params_lora * bytes_param / param / shard_states", "momentum of the adapters",
       S.TORCH.format(path="torch/optim/sgd.py"), f'optimizer == "sgd" and {FROZEN}'),
)

STEP = (
    _f("mem_optimizer_step", "0 * byte", "fused or in-place kernels: no tensor-sized temporaries",
       S.ADAMW_TORCH + " (fused=True); " + S.bnb("bitsandbytes/optim/optimizer.py", "569-590"),
       'optimizer in ("adamw", "adamw8bit", "sgd") or weights != "full"'),
    _f("mem_optimizer_step",
       "(1 - muon_stacked) * ((4 * max(d_ff, d_model) * d_model + 2 * d_model**2) * bytes_lowp"
       f" + {REST} / param / n_gpus * (1 if n_gpus > 1 else 0)"
       " + sharded_optimizer * n_gpus * max(d_ff, d_model) * d_model * bytes_param * (1 if n_gpus > 1 else 0))"
       " + muon_stacked * (n_params_matrices * bytes_param / param * (2 if n_gpus == 1 else 1 + 3 / n_gpus)"
       " + n_params_matrices / 3 * (2 * bytes_lowp + bytes_param) / param / n_gpus)",
       "one matrix at a time: Newton-Schulz of the largest (d_ff x d) matrix in bf16, the iterate X, B X, a X "
       "and their sum with the d x d products A and B, and distributed the AdamW gradient slices and the stack "
       "NCCL's process group makes of DistMuon's list of one matrix per GPU (reduce_scatter, all_gather): all are "
       "queued before the first completes, but a stack freed while its collective runs is reclaimed when memory "
       "runs short (the allocator waits for the NCCL stream), so the step needs one, of the largest shape; stacked "
       "(MuonAdamW): one GPU holds all Muon gradients and owned parameters before writing back (2 fp32 copies), "
       "distributed the padded gradient stack, its chunk, the owned stack and the gather input, plus, for the "
       "largest shape group (a third of the matrices), two bf16 iterates and the result cast back to fp32",
       S.v0("nanochat/muon.py", "9-36, 69-83") + "; " + S.v0("nanochat/adamw.py", "26-35") + "; "
       + S.v0("nanochat/muon.py", "127-187") + "; " + S.NCCL_FLAT + "; "
       + S.head("nanochat/optim.py", "295-318, 385-417, 438-459"), MUON_FULL,
       assumptions=("the step's own temporaries as measured on an eager step (upstream compiles it)",
                    "DistMuon: one stacked list of the largest matrix is needed at a time (with memory to spare all "
                    "are allocated at once: 2 x the matrices, which max_memory_allocated would count)",)),
)

FORMULAS = STATES + STEP
