"""The shared vocabulary, the run arithmetic every family uses, and the GPU catalogue.

A built-in plugin loaded through the `costmodel` entry point like any other. It declares the
names of ../shared/DESIGN.md's vocabulary (each with its canonical unit), the recipe options that
every family meets (precision, attention, compile), the formulas of a training run that hold for
any model, the architecture features (features.py: what a family is made of, and the parameter
groups and FLOPs that follow from them), and registers every card of the `costmodel.catalogue`
catalogue.
"""

from __future__ import annotations

from importlib import resources

from costmodel import hookimpl
from costmodel.declarations import Caveat, Choice, Formula, Hardware, Quantity, Recipe

from . import features


def _q(name: str, unit: str, doc: str, kind: str = "real", **kw) -> Quantity:
    return Quantity(name=name, unit=unit, doc=doc, kind=kind, **kw)


# The range of model FLOPs utilisation that training runs reach (docs/check.md): GPT-3 21.3 % and
# PaLM 46.2 % (Chowdhery et al. 2022, arXiv:2204.02311 Table 3), Megatron-LM 52 % (Narayanan et al.
# 2021, arXiv:2104.04473), nanochat d32 50.9 % (run1000.sh@fae3aca9519a L44-57), llm.c "up to
# ~60 %" (karpathy/llm.c discussion #481), and 80 % of an RTX 4090's dense BF16 peak for nanochat
# d20 at micro-batch 4 (karpathy/nanochat issue #157: "mfu: 13.44" of 989e12 = 132.9 TFLOP/s of
# 165.2). The ceiling is the best measured matmul efficiency, 85.9 % (A100 SXM, stas00/ml-engineering
# compute/accelerator/README.md "Maximum Achievable Matmul FLOPS"): a whole training step cannot
# plausibly beat its own matmuls. Below 2 % a GPU mostly waits (the smallest measured: parameter-golf's
# 17 M model at 15 % on an H100; costmodel gives nanoGPT's 10.7 M shakespeare-char 2.6 % on a B200,
# where the fixed cost of each micro-step dominates). (The earlier ceiling, 65 %, was below the RTX 4090
# measurement and below costmodel's own estimates on small cards, up to 74 %.)
MFU_PLAUSIBLE = (0.02, 0.86)

# the views that show a quantity (Quantity.groups; plots and listings read them, docs/engine-api.md)
MEMORY_PART, MEMORY_LIMIT = ("memory part",), ("memory limit",)
TIME_AND_COST, CARD = ("time and cost",), ("card summary",)

VOCABULARY = [
    # the run
    _q("micro_batch", "sequence", "sequences per forward/backward pass on each GPU", "integer", positive=True,
       free_rank=1),  # a given memory peak means a smaller or larger micro-batch
    _q("seq_len", "token/sequence", "tokens per sequence (context length)", "integer", positive=True),
    _q("grad_accum", "1", "micro-steps per optimizer step on each GPU", "integer", positive=True, default=1),
    _q("n_gpus", "1", "data-parallel GPUs", "integer", positive=True, default=1),
    _q("iters", "iteration", "optimizer steps of the run", "integer", free_rank=0),
    _q("tokens_per_iter", "token/iteration", "tokens per optimizer step, all GPUs together"),
    _q("total_tokens", "token", "tokens trained on over the whole run"),
    _q("dataset_tokens", "token", "tokens in the training set", positive=True),
    _q("epochs", "1", "passes over the training set"),
    # the model: architecture names every family uses with the same meaning
    _q("n_layer", "1", "transformer blocks", "integer", positive=True),
    _q("n_head", "1", "query heads per block", "integer", positive=True),
    _q("n_kv_head", "1", "key/value heads per block (fewer than n_head: grouped-query attention)", "integer", positive=True),
    _q("d_model", "1", "width of the residual stream", "integer", positive=True),
    _q("head_dim", "1", "channels per attention head", "integer", positive=True),
    _q("vocab_size", "1", "tokenizer vocabulary (rows of the token embedding)", "integer", positive=True),
    _q("flops_per_token_exact", "FLOP/token",
       "training matmul FLOPs per token (forward + backward) as torch's FlopCounterMode counts them"),
    # the model: counts
    _q("n_params", "param", "unique trainable parameters"),
    _q("n_params_reported", "param", "parameter count as the family's own code prints it"),
    _q("flops_per_token", "FLOP/token", "training FLOPs per token (forward + backward), family's convention"),
    _q("model_flops", "FLOP", "model FLOPs of the whole run (the MFU numerator)"),
    _q("hardware_flops", "FLOP", "FLOPs the hardware executes over the run, recomputation included"),
    _q("recompute_flops_per_token", "FLOP/token", "FLOPs per token recomputed by activation checkpointing"),
    _q("frozen_flops_saved_per_token", "FLOP/token",
       "FLOPs per token a frozen base does not compute (its weight gradients), less the adapters' (0: all trained)",
       minimum=None, default=0),
    _q("n_params_frozen", "param", "parameters of a frozen base: no gradient is formed or all-reduced (0: all trained)",
       default=0),
    _q("dequant_time", "s", "time per micro-step to unpack quantised weights before their matmuls (0: none)",
       default=0),
    # memory
    _q("mem_weights", "byte", "memory for the weights (and master copies)", groups=MEMORY_PART),
    _q("mem_grads", "byte", "memory for the gradients", groups=MEMORY_PART),
    _q("mem_optimizer", "byte", "memory for optimizer states", groups=MEMORY_PART),
    _q("mem_activations", "byte", "activations saved for the backward pass", groups=MEMORY_PART),
    _q("mem_logits", "byte", "logits, log-softmax and loss temporaries", groups=MEMORY_PART),
    _q("mem_overhead", "byte", "CUDA context, library workspaces and allocator slack", groups=MEMORY_PART),
    _q("mem_peak", "byte", "peak memory of one training step on one GPU", tolerance=0.25),
    # hardware (values come from hardware/*.toml)
    _q("gpu_memory", "byte", "GPU memory as sold (binary units: 12 GB = 12 GiB)", positive=True, groups=CARD),
    _q("gpu_memory_usable", "byte", "GPU memory the driver reports as total (nvidia-smi)", positive=True, groups=MEMORY_LIMIT),
    _q("mem_bandwidth", "byte/s", "GPU memory bandwidth", positive=True, groups=CARD),
    _q("peak_flops_fp32", "FLOP/s", "dense FP32 peak (non-tensor)", positive=True),
    _q("peak_flops_tf32", "FLOP/s", "dense TF32 tensor peak", positive=True),
    _q("peak_flops_bf16", "FLOP/s", "dense BF16 tensor peak with FP32 accumulate", positive=True, groups=CARD),
    _q("peak_flops_fp16", "FLOP/s", "dense FP16 tensor peak with FP32 accumulate", positive=True),
    _q("peak_flops_fp16_acc16", "FLOP/s", "dense FP16 tensor peak with FP16 accumulate", positive=True),
    _q("peak_flops_fp8", "FLOP/s", "dense FP8 tensor peak", positive=True),
    _q("board_power", "W", "board power limit (TGP/TDP)", positive=True, groups=CARD),
    _q("interconnect_bandwidth", "byte/s", "GPU-to-GPU bandwidth per direction", positive=True),
    # time
    _q("peak_flops", "FLOP/s", "dense peak per GPU for the precision used", positive=True),
    _q("mfu", "1", "model FLOPs utilisation: achieved model FLOP/s over peak",
       maximum=1.0, plausible=MFU_PLAUSIBLE),
    _q("achieved_flops", "FLOP/s", "model FLOP/s achieved per GPU", limit="peak_flops"),
    _q("tokens_per_second", "token/s", "training throughput, all GPUs together"),
    _q("iter_time", "s/iteration", "wall time of one optimizer step"),
    _q("wall_time", "s", "wall time of the run", groups=TIME_AND_COST),
    # energy and money
    _q("gpu_power", "W", "average electrical power per GPU while training", limit="board_power",
       tolerance=0.25),  # an estimate from fractions of the board power (docs/time.md), not a count
    _q("energy", "kWh", "electrical energy of the run"),
    _q("electricity_price", "USD/kWh", "price of electricity"),
    _q("energy_cost", "USD", "cost of the run's electricity", groups=TIME_AND_COST),
    _q("gpu_hour_price", "USD/h", "rental price of one GPU for one hour"),
    _q("cloud_cost", "USD", "rental cost of the run's GPU-hours", groups=TIME_AND_COST),
]

RECIPES = [
    Recipe(
        name="precision",
        doc="numeric format of training",
        default="amp-bf16",
        choices=[
            Choice(name="amp-bf16", doc="fp32 master weights and grads, bf16 autocast compute",
                   source="PyTorch torch.autocast docs; karpathy/nanoGPT train.py (dtype='bfloat16')"),
            Choice(name="amp-fp16", doc="fp32 master weights, fp16 autocast compute, loss scaler",
                   source="PyTorch torch.cuda.amp.GradScaler docs; Micikevicius et al. 2018 (arXiv:1710.03740)"),
            Choice(name="bf16", doc="pure bf16: weights, grads and compute in bf16",
                   source="Kalamkar et al. 2019, A Study of BFLOAT16 for Deep Learning Training (arXiv:1905.12322)",
                   caveats=[Caveat(
                       text="pure bf16 keeps no fp32 master weights: an update below a weight's bf16 resolution "
                       "(2^-8 of it) is lost, and the loss can end worse than under amp unless the optimizer "
                       "rounds stochastically or keeps Kahan sums",
                       source="Zamirai et al. 2020, Revisiting BFloat16 Training (arXiv:2010.06192)",
                       condition='offload != "cpu"')]),  # ZeRO-Offload keeps the fp32 master on the CPU
            Choice(name="fp32", doc="everything in fp32 (matmuls may use TF32 where enabled)",
                   source="PyTorch CUDA semantics: TF32 on Ampere and later"),
        ],
    ),
    Recipe(
        name="attention",
        doc="attention implementation",
        default="flash",
        choices=[
            Choice(name="flash", doc="fused SDPA / FlashAttention: no T x T matrix stored",
                   source="Dao et al. 2022, FlashAttention (arXiv:2205.14135)"),
            Choice(name="eager", doc="explicit softmax(QK^T) with the T x T matrix materialised",
                   source="Vaswani et al. 2017 (arXiv:1706.03762), as written in nanoGPT model.py's slow path"),
        ],
    ),
]

CHECKPOINTING = Recipe(
    name="checkpointing",
    doc="activation checkpointing (recomputation in the backward pass)",
    default="none",
    choices=[
        Choice(name="none", doc="every activation saved; nothing recomputed",
               source="PyTorch autograd default",
               formulas=[Formula(target="recompute_flops_per_token", expr="0 * FLOP/token",
                                 doc="nothing is recomputed", source="definition")]),
        Choice(name="selective", doc="attention internals recomputed in the backward pass",
               source="Korthikanti et al. 2022, Reducing Activation Recomputation (arXiv:2205.05198) section 4.2"),
        Choice(name="full", doc="only layer inputs saved; each layer's forward recomputed in backward",
               source="Chen et al. 2016, Training Deep Nets with Sublinear Memory Cost (arXiv:1604.06174); torch.utils.checkpoint"),
    ],
)
RECIPES.append(CHECKPOINTING)

SWITCHES = [
    _q("compile", "1", "torch.compile on (fuses elementwise ops and the loss)", "bool", default=False),
]

FORMULAS = [
    Formula(
        target="tokens_per_iter",
        expr="micro_batch * seq_len * grad_accum * n_gpus / iteration",
        doc="tokens per optimizer step: micro-batch x sequence length x accumulation x GPUs",
        source="karpathy/nanoGPT train.py@3adf61e154c3 L101 (tokens_per_iter)",
    ),
    Formula(
        target="total_tokens",
        expr="iters * tokens_per_iter",
        doc="tokens of the whole run",
        source="definition (iterations x tokens per iteration)",
    ),
    Formula(
        target="model_flops",
        expr="(flops_per_token - frozen_flops_saved_per_token) * total_tokens",
        doc="model FLOPs of the run: FLOPs per token x tokens (a frozen base forms no weight gradients)",
        source="Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B (MFU numerator)",
    ),
    Formula(
        target="hardware_flops",
        expr="(flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token) * total_tokens",
        doc="FLOPs executed: model FLOPs plus what checkpointing recomputes, less the weight gradients a "
        "frozen base never forms (the HFU numerator)",
        source="Chowdhery et al. 2022, PaLM (arXiv:2204.02311) Appendix B (MFU vs HFU)",
    ),
    Formula(
        target="epochs",
        expr="total_tokens / dataset_tokens",
        doc="passes over the training set",
        source="definition",
    ),
]


@hookimpl
def register_quantities(register):
    for q in VOCABULARY + SWITCHES + features.FEATURES + features.GROUPS:
        register(q)


@hookimpl
def register_recipes(register):
    for r in RECIPES:
        register(r)


@hookimpl
def register_formulas(register):
    for f in FORMULAS + features.FORMULAS:
        register(f)


@hookimpl
def register_hardware(register):
    catalogue = resources.files("costmodel.catalogue")
    for entry in sorted(catalogue.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as path:
                register(Hardware.from_toml(str(path)))
