"""Peak rate by precision, gradient communication, the time of a step and of the whole run.

The chain (docs/time.md):

    peak_flops       the card's dense peak for the precision used
    compute_hfu      the efficiency model (efficiency.py), or the user's value
    compute_time   = (flops_per_token + recompute_flops_per_token) * tokens_per_iter
                     / (n_gpus * compute_hfu * peak_flops)
    allreduce_time = 2 (n_gpus - 1) / n_gpus * allreduce_bytes / interconnect_bandwidth
    mfu            = model FLOP/s over peak with compute and exposed communication (default rule;
                     a user-given mfu replaces it: the measured end-to-end utilisation)
    iter_time      = flops_per_token * tokens_per_iter / (n_gpus * mfu * peak_flops)
    hfu            = the same with recomputation counted: mfu * (flops + recompute) / flops
    wall_time      = iters * iter_time + compile + evaluation + checkpoints
"""

from __future__ import annotations

from costmodel.declarations import Formula

NANOGPT = "karpathy/nanoGPT"
NG = "3adf61e154c3"  # the commit costmodel_nanogpt follows
NANOCHAT = "karpathy/nanochat"

PEAK = [
    Formula(
        target="peak_flops",
        expr="peak_flops_bf16",
        condition='precision in ("amp-bf16", "bf16")',
        doc="BF16 tensor peak with FP32 accumulate (what PyTorch/cuBLAS bf16 GEMMs use)",
        source="card datasheet via hardware/*.toml (peak_flops_bf16, dense); PyTorch CUDA semantics "
        "(reduced-precision GEMMs accumulate in FP32); docs/hardware.md (GeForce FP32-accumulate rate)",
        overridable=True,
    ),
    Formula(
        target="peak_flops",
        expr="peak_flops_fp16",
        condition='precision == "amp-fp16"',
        doc="FP16 tensor peak with FP32 accumulate (GeForce: half the FP16-accumulate rate)",
        source="card datasheet via hardware/*.toml (peak_flops_fp16, dense, FP32 accumulate); "
        "docs/hardware.md (GeForce FP32-accumulate rate)",
        overridable=True,
    ),
    Formula(
        target="peak_flops",
        expr="peak_flops_tf32",
        condition='precision == "fp32"',
        doc="fp32 training runs its matmuls in TF32 on tensor cores: both families switch TF32 on",
        source=f"{NANOGPT} train.py@{NG} L107-L108 (allow_tf32 = True); {NANOCHAT} nanochat/common.py"
        "@92d63d4e8bb4 L194 (set_float32_matmul_precision('high')); plain PyTorch >= 1.12 leaves it off: "
        "then --set peak_flops=<peak_flops_fp32>",
        overridable=True,
    ),
]

COMMUNICATION = [
    Formula(
        target="comm_bytes_per_param",
        expr="4 * byte/param",
        condition='precision in ("amp-bf16", "amp-fp16", "fp32")',
        doc="gradients are reduced in the parameters' dtype: fp32 master weights give fp32 gradients",
        source="PyTorch DistributedDataParallel docs (gradient buckets are all-reduced in the parameters' "
        "dtype); Li et al. 2020, PyTorch Distributed (arXiv:2006.15704) section 3.2; "
        f"{NANOCHAT} nanochat/adamw.py@fae3aca9519a L34 (reduce_scatter of the fp32 grads)",
        overridable=True,
    ),
    Formula(
        target="comm_bytes_per_param",
        expr="2 * byte/param",
        condition='precision == "bf16"',
        doc="pure bf16 training keeps bf16 gradients",
        source="Kalamkar et al. 2019 (arXiv:1905.12322); PyTorch DDP docs (reduction in the parameters' dtype)",
        overridable=True,
    ),
    Formula(
        target="allreduce_bytes",
        expr="comm_bytes_per_param * (n_params - n_params_frozen)",
        doc="every trained parameter's gradient is averaged across the data-parallel GPUs once per optimizer "
        "step (a frozen base has none: LoRA, int8, NF4 reduce the adapters' only)",
        source="Li et al. 2020, PyTorch Distributed (arXiv:2006.15704); "
        f"{NANOGPT} train.py@{NG} L293-L298 (gradients synchronised on the last micro-step only)",
    ),
    Formula(
        target="allreduce_time",
        expr="2 * (n_gpus - 1) / n_gpus * allreduce_bytes / interconnect_bandwidth / iteration",
        doc="bandwidth term of a ring all-reduce (equally reduce-scatter + all-gather): 2(n-1)/n x bytes per GPU",
        source="Patarasuk & Yuan 2009, Bandwidth optimal all-reduce algorithms (JPDC 69(2)); "
        "NVIDIA/nccl-tests doc/PERFORMANCE.md (busbw = algbw x 2(n-1)/n)",
        assumptions=("latency terms ignored", "interconnect_bandwidth is reached (per direction, per GPU)"),
    ),
    Formula(
        target="comm_overlap",
        expr="0",
        doc="no overlap assumed: nanochat reduces after the backward pass; DDP can hide some (set 0..1)",
        source=f"{NANOCHAT} nanochat/adamw.py@fae3aca9519a L24-L44 (reduce_scatter launched in step(), after "
        "backward); Li et al. 2020 (arXiv:2006.15704) section 3.2.3 (DDP overlaps bucket all-reduce with backward)",
        overridable=True,
    ),
    Formula(
        target="exposed_comm_time",
        expr="allreduce_time * (1 - comm_overlap) + offload_time",
        doc="the part of the all-reduce not hidden behind computation, and the time of an offloaded optimizer",
        source="definition of comm_overlap; offload_time: costmodel_memory/offload.py (0 without offloading)",
    ),
]

STEP = [
    Formula(
        target="compute_time",
        expr="(flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token) * tokens_per_iter"
        " / (n_gpus * compute_hfu * peak_flops) + grad_accum * dequant_time / iteration",
        doc="FLOPs executed per step over the rate the GPUs sustain while computing (a frozen base forms no "
        "weight gradients), plus unpacking quantised weights in every micro-step",
        source="definition of hardware FLOPs utilisation: Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B",
    ),
    Formula(
        target="mfu",
        expr="(flops_per_token - frozen_flops_saved_per_token) * tokens_per_iter"
        " / (n_gpus * peak_flops * (compute_time + exposed_comm_time))",
        doc="model FLOPs utilisation of a whole step (compute and exposed communication)",
        source="Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B (MFU); "
        f"{NANOGPT} model.py@{NG} L289-L303 (estimate_mfu)",
        overridable=True,
    ),
    Formula(
        target="iter_time",
        expr="(flops_per_token - frozen_flops_saved_per_token) * tokens_per_iter / (n_gpus * mfu * peak_flops)",
        doc="wall time of one optimizer step: model FLOPs over the model FLOP/s achieved",
        source="definition of MFU: Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B",
    ),
    Formula(
        target="hfu",
        expr="(flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token) * tokens_per_iter"
        " / (n_gpus * peak_flops * iter_time)",
        doc="hardware FLOPs utilisation of a whole step (recomputation counted)",
        source="Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B (HFU); Korthikanti et al. 2022 "
        "(arXiv:2205.05198) section 6",
    ),
    Formula(
        target="achieved_flops",
        expr="mfu * peak_flops",
        doc="model FLOP/s each GPU achieves",
        source="definition of MFU",
    ),
    Formula(
        target="tokens_per_second",
        expr="tokens_per_iter / iter_time",
        doc="training throughput, all GPUs together",
        source="definition",
    ),
]

RUN = [
    Formula(
        target="flops_fwd",
        expr="flops_per_token / 3",
        doc="forward-pass FLOPs per token: a third of a training step's (the backward pass does twice the forward's)",
        source="Kaplan et al. 2020 (arXiv:2001.08361) section 2.1 (forward 2N, backward 4N FLOPs per token); "
        "the families' flops_per_token follow the same 1:2 split (6N + 12 L H Q T: PaLM App. B)",
        overridable=True,
    ),
    Formula(
        target="train_time",
        expr="iters * iter_time",
        doc="time of the optimizer steps",
        source="definition",
    ),
    Formula(
        target="compile_time",
        expr="60 * s",
        condition="compile",
        doc="one-off compilation by torch.compile in the first step ('takes a ~minute', says nanoGPT)",
        source=f"{NANOGPT} train.py@{NG} L206 (print 'compiling the model... (takes a ~minute)'); users' "
        "nanoGPT logs on an RTX 4070 show a first iteration of 27-32 s; measure yours with `costmodel calibrate`",
        overridable=True,
    ),
    Formula(
        target="compile_time",
        expr="0 * s",
        condition="not compile",
        doc="nothing to compile",
        source="definition",
        overridable=True,
    ),
    Formula(
        target="eval_interval",
        expr="2000 * iteration",
        doc="nanoGPT's default evaluation interval",
        source=f"{NANOGPT} train.py@{NG} L36 (eval_interval = 2000)",
        overridable=True,
    ),
    Formula(
        target="eval_iters",
        expr="0",
        doc="evaluation is left out unless eval_iters is given (nanoGPT's default is 200 per split)",
        source=f"{NANOGPT} train.py@{NG} L38 (eval_iters = 200)",
        overridable=True,
    ),
    Formula(
        target="eval_time",
        expr="(floor(iters / eval_interval) + 1) * 2 * eval_iters * micro_step_tokens * flops_fwd"
        " / (compute_hfu * peak_flops)",
        doc="evaluations at step 0 and every eval_interval; each runs eval_iters forward passes on the "
        "train and the val split; a forward pass is a third of a training step's FLOPs",
        source=f"{NANOGPT} train.py@{NG} L216-L228 (estimate_loss: 2 splits x eval_iters batches) and L263 "
        "(iter_num % eval_interval == 0); Kaplan et al. 2020 (arXiv:2001.08361) section 2.1 "
        "(forward 2N, backward 4N FLOPs per token)",
        assumptions=("evaluation runs at the training utilisation",),
    ),
    Formula(
        target="checkpoints",
        expr="0",
        doc="no checkpoints counted unless given",
        source="definition (nanoGPT saves one at each evaluation that improves val loss: train.py L274-L286)",
        overridable=True,
    ),
    Formula(
        target="checkpoint_bytes_per_param",
        expr="12 * byte/param",
        doc="fp32 weights (4 B) and AdamW's two fp32 moments (8 B) per parameter",
        source=f"{NANOGPT} train.py@{NG} L276-L286 (checkpoint = model and optimizer state_dict); PyTorch "
        "AdamW (exp_avg, exp_avg_sq in the parameters' dtype)",
        overridable=True,
    ),
    Formula(
        target="storage_bandwidth",
        expr="0.5 * GB/s",
        doc="a SATA SSD's write speed (a conservative default: NVMe drives write several GB/s)",
        source="SATA-IO, Serial ATA revision 3.0 (6 Gbit/s line rate, 600 MB/s after 8b/10b coding)",
        overridable=True,
    ),
    Formula(
        target="checkpoint_time",
        expr="checkpoints * checkpoint_bytes_per_param * n_params / storage_bandwidth",
        doc="bytes written over the disk's write speed",
        source="definition",
    ),
    Formula(
        target="wall_time",
        expr="train_time + compile_time + eval_time + checkpoint_time",
        doc="steps plus one-off compilation, evaluations and checkpoint writes",
        source="definition; overheads as in karpathy/nanoGPT train.py@3adf61e154c3 L204-L286",
    ),
    Formula(
        target="gpu_hours",
        expr="n_gpus * wall_time",
        doc="GPU-hours: what a cloud bills",
        source="definition",
    ),
]

FORMULAS = PEAK + COMMUNICATION + STEP + RUN
