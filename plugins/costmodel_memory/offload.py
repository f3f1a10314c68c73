"""Where the optimizer states live: on the GPU, in host memory with the update on the CPU
(ZeRO-Offload), or paged out of GPU memory under pressure (bitsandbytes paged optimizers).

offload = "none"   the states stay on the GPU through the whole step (the other modules' model).
offload = "cpu"    ZeRO-Offload (Ren et al. 2021; DeepSpeed `offload_optimizer: {device: cpu}` with
                   DeepSpeedCPUAdam): the GPU keeps the weights and gradients in the training dtype
                   (with precision=bf16: 16-bit on the GPU, the fp32 master on the CPU), runs forward
                   and backward; every optimizer step the gradients go to host memory over the host
                   link, the CPU updates fp32 master weights and both Adam moments there, and the
                   updated weights come back. GPU memory loses the states and the step's temporaries;
                   the step gains two transfers and the CPU's update, which streams the fp32 weights,
                   gradients and moments through host memory (it is bound by memory bandwidth).
offload = "paged"  bitsandbytes paged optimizers (PagedAdamW, PagedAdamW8bit): the states sit in CUDA
                   unified memory; when the activations need the room the driver evicts them to host
                   memory and pages them back in for the optimizer step. GPU memory holds them only
                   during the step (when the activations are gone); every step pays a round trip of
                   the states over the host link, assumed taken in full.

The host's numbers are not in the card catalogue: `host_link_bandwidth` defaults to PCIe 4.0 x16 and
`host_memory_bandwidth` to dual-channel DDR4-3200, both default rules that a card file (or
`--set`) replaces. The time they cost enters the step as `offload_time` (costmodel_time adds it to
the exposed time of a step). Checks against hand arithmetic: tests/test_offload.py.
"""

from __future__ import annotations

from costmodel.declarations import Choice, Quantity, Recipe

from . import sources as S
from .weights import _f

ZERO_OFFLOAD = ("Ren et al. 2021, ZeRO-Offload: Democratizing Billion-Scale Model Training (USENIX ATC '21, "
                "arXiv:2101.06840) sections 3-4 (fp16 parameters and forward/backward on the GPU; gradients to "
                "the CPU, fp32 parameters and Adam states and the update on the CPU, parameters back: 2 + 2 "
                "bytes per parameter over PCIe per step); deepspeedai/DeepSpeed docs/_tutorials/"
                "zero-offload.md@38327e07f (offload_optimizer device cpu, ZeRO stage 2, DeepSpeedCPUAdam)")
CPU_ADAM = ("deepspeedai/DeepSpeed csrc/includes/cpu_adam.h@38327e07f L159-L191 (Step_AVX loads grad, exp_avg, "
            "exp_avg_sq and param and stores param, exp_avg and exp_avg_sq: 16 + 12 bytes per fp32 parameter); "
            "deepspeed/ops/adam/cpu_adam.py (fp32_optimizer_states=True, master parameters on the CPU)")
PAGED = ("Dettmers et al. 2023, QLoRA (arXiv:2305.14314) section 3, Paged Optimizers (NVIDIA unified memory: "
         "optimizer states evicted to CPU RAM when the GPU runs out and paged back in for the update); "
         + S.bnb("bitsandbytes/optim/adamw.py", "179-336") + " (PagedAdamW, PagedAdamW8bit, PagedAdamW32bit: "
         "is_paged=True); " + S.bnb("bitsandbytes/optim/optimizer.py", "383-400")
         + " (states of tensors of 1e5 elements and more made with get_paged, prefetched before the update)")
PCIE4 = ("PCI-SIG, PCI Express Base Specification 4.0: 16 GT/s per lane, 128b/130b coding: x16 carries "
         "16 x 16e9 x 128/130 / 8 = 31.5 GB/s per direction")
DDR4 = ("JEDEC JESD79-4 DDR4 SDRAM (DDR4-3200: 3200 MT/s x 8 bytes = 25.6 GB/s per channel); a desktop's "
        "two channels: 51.2 GB/s (theoretical; a STREAM copy reaches roughly 80 % of it)")

CPU = 'offload == "cpu"'
CPU_ADAMW = 'offload == "cpu" and optimizer == "adamw"'
PAGED_BNB = 'offload == "paged" and optimizer in ("adamw", "adamw8bit")'

QUANTITIES = (
    Quantity(name="host_link_bandwidth", unit="byte/s",
             doc="bandwidth between the GPU and host memory, per direction (PCIe)", positive=True),
    Quantity(name="host_memory_bandwidth", unit="byte/s",
             doc="host (CPU) memory bandwidth the optimizer's update streams through", positive=True),
    Quantity(name="cpu_adam_traffic", unit="byte/param",
             doc="host-memory bytes the CPU's Adam update reads and writes per parameter"),
    Quantity(name="mem_optimizer_resident", unit="byte",
             doc="optimizer states held on the GPU through forward and backward"),
    Quantity(name="mem_optimizer_paged_in", unit="byte",
             doc="optimizer states paged back into GPU memory for the step (paged optimizers)"),
    Quantity(name="mem_optimizer_step_gpu", unit="byte",
             doc="temporaries of the optimizer step on the GPU (none when the CPU updates)"),
    Quantity(name="mem_host", unit="byte",
             doc="host memory the offloaded recipe needs per GPU (fp32 master weights, gradients, states)"),
    Quantity(name="offload_time", unit="s/iteration",
             doc="time per optimizer step spent moving states or gradients over the host link and updating on the CPU"),
)

RECIPES = (
    Recipe(
        name="offload",
        doc="where the optimizer states live and the update runs",
        default="none",
        choices=(
            Choice(name="none", doc="optimizer states and update on the GPU", source="definition"),
            Choice(name="cpu", doc="ZeRO-Offload: fp32 master weights, gradients and Adam states in host memory, "
                   "the update on the CPU (DeepSpeed CPU Adam)", source=ZERO_OFFLOAD),
            Choice(name="paged", doc="paged optimizer (bitsandbytes): states paged out to host memory under "
                   "pressure and back in for the step", source=PAGED),
        ),
    ),
)

HOST = (
    _f("host_link_bandwidth", "31.5 * GB/s", "PCIe 4.0 x16, per direction (a card file or --set replaces it: "
       "PCIe 5.0 x16 carries 63 GB/s)", PCIE4, overridable=True),
    _f("host_memory_bandwidth", "51.2 * GB/s", "dual-channel DDR4-3200 (a workstation or server has more: "
       "--set host_memory_bandwidth)", DDR4, overridable=True),
    _f("cpu_adam_traffic", "28 * byte/param", "Adam on fp32 master weights: reads weight, gradient and both "
       "moments (16 bytes), writes weight and moments (12)", CPU_ADAM, overridable=True),
)

PLACEMENT = (
    _f("mem_optimizer_resident", "mem_optimizer", "the states stay on the GPU", "definition", 'offload == "none"'),
    _f("mem_optimizer_paged_in", "0 * byte", "nothing to page in", "definition", 'offload in ("none", "cpu")'),
    _f("mem_optimizer_step_gpu", "mem_optimizer_step", "the step runs on the GPU", "definition",
       'offload in ("none", "paged")'),
    _f("mem_host", "0 * byte", "nothing kept in host memory", "definition", 'offload == "none"'),
    _f("offload_time", "0 * s/iteration", "nothing moves over the host link", "definition", 'offload == "none"'),
    # ZeRO-Offload
    _f("mem_optimizer_resident", "0 * byte", "the states live in host memory", ZERO_OFFLOAD, CPU_ADAMW),
    _f("mem_optimizer_step_gpu", "0 * byte", "the CPU runs the update: no temporaries on the GPU", ZERO_OFFLOAD,
       CPU_ADAMW),
    _f("mem_host", "16 * byte/param * n_params_trainable / shard_states",
       "fp32 master weights, fp32 gradients and Adam's two fp32 moments per parameter (of this GPU's share)",
       ZERO_OFFLOAD + "; " + CPU_ADAM, CPU_ADAMW),
    _f("offload_time",
       "(2 * bytes_param * n_params_trainable / param / host_link_bandwidth"
       " + cpu_adam_traffic * n_params_trainable / host_memory_bandwidth) / shard_states / iteration",
       "gradients to the host and updated weights back, each in the GPU's weight dtype, plus the CPU's update "
       "streaming through host memory; nothing of it overlapped with the GPU's work",
       ZERO_OFFLOAD + "; " + CPU_ADAM, CPU_ADAMW,
       assumptions=("no overlap of the transfers and the CPU update with compute (DeepSpeed overlaps the "
                    "gradient copies with the backward when overlap_comm is set: then less)",
                    "the CPU update is bound by host memory bandwidth")),
    # paged optimizers
    _f("mem_optimizer_resident", "0 * byte", "the activations' peak evicts the states to host memory", PAGED,
       PAGED_BNB),
    _f("mem_optimizer_paged_in", "mem_optimizer", "the states are paged back in for the step", PAGED, PAGED_BNB),
    _f("mem_host", "mem_optimizer", "the evicted states' pages in host memory", PAGED, PAGED_BNB),
    _f("offload_time", "2 * mem_optimizer / host_link_bandwidth / iteration",
       "every step the states go out to host memory and come back", PAGED, PAGED_BNB,
       assumptions=("eviction happens every step (the worst case: GPU memory is short)",)),
)

FORMULAS = HOST + PLACEMENT
