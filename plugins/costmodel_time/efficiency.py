"""The default efficiency model: how long one micro-step takes, and so what share of the peak it reaches.

A micro-step on one GPU is modelled from what it does (docs/time.md, "The efficiency model"):

    micro_step_time = sqrt(gpu_time**2 + launch_time**2) + step_overhead      host and GPU overlap
    gpu_time     = matmul_time + memory_time * software_slowdown
    launch_time  = layer_overhead * n_layer                         launches, dispatcher, Python per layer

    matmul_time  = (flops_per_token + recompute_flops_per_token + misaligned_head_flops) * micro_step_tokens
                   / (hfu_ceiling * peak_flops)                  the FLOPs at the card's matmul ceiling
                   (with fp8, the Linear layers' share runs at peak_flops_fp8; a vocabulary that is not a
                   multiple of 8 makes the head's matmuls misaligned_head_factor times slower)
    memory_time  = micro_step_tokens * memory_traffic / mem_bandwidth      the memory-bound kernels
    memory_traffic = (activation_traffic * n_layer * d_model * dram_share   norms, activations, residuals
                      + logit_traffic * vocab_size                    softmax and loss over the vocabulary
                      + score_traffic * n_layer * n_head * seq_len    the T x T scores of eager attention
                      + fp8_traffic)                                  FP8 casts of the Linear layers' inputs
                     * precision_traffic_factor                       (fp32 over bf16 autocast: counted)
                     * (flops_per_token + recompute) / flops_per_token   (recomputation repeats the forward)

where `dram_share` is the part of that traffic that misses the L2 cache: a micro-step whose
activations (micro_step_tokens x d_model x traffic_element_bytes x l2_working_set) fit in the card's L2 cache
(72 MiB on an RTX 4090, 50 MiB on an H100) keeps most of it on chip. Once per optimizer step the
optimizer reads and writes its states (`optimizer_time`). The
efficiency the rest of the time model uses follows:

    compute_hfu = (flops_per_token + recompute) * micro_step_tokens * grad_accum
                  / (peak_flops * (grad_accum * micro_step_time + optimizer_time))

Where the constants come from:
- `hfu_ceiling`: what the card's matmuls really reach, measured. A card file gives its own value
  (GeForce cards boost above their rated clock and reach about their rated dense peak: RTX 4090
  1.01; a 300 W workstation card stays below it: RTX A6000 0.61); otherwise 0.83, the mean of the
  data-centre measurements (A100 SXM 85.9 %, GH200 83.0 %, H100 SXM 80.1 %);
- `score_traffic` (eager attention) and `optimizer_traffic`: bytes counted from the programs;
- `misaligned_head_factor`: derived from nanoGPT's measured 25 % speedup when its vocabulary went from
  50,257 to 50,304 (docs/time.md, "A vocabulary that is not a multiple of 8");
- `layer_overhead`: the host's time per layer to launch a micro-step's kernels, which overlaps the GPU's
  work (a smooth maximum of the two, exponent 2, chosen by leave-one-out error); `step_overhead`, a
  further cost per micro-step (a Python loop's interpreter, data loading), fitted to its bound 0;
- `l2_cache`: the card's datasheet (0 where a card file does not give it: no caching assumed);
- `software_slowdown`: 1 for today's PyTorch; `pytorch_2023=true` for the 2.0 nightlies of 2022-23: their
  memory-bound kernels moved more bytes (fitted);
- `precision_traffic_factor` (fp32 against bf16 autocast) and llm.c's `fused_loss` logit bytes: counted;
- eager traffic: twice the compiled (counted, docs/time.md "Bytes of a block"); eager per-layer time: fitted;
- `activation_traffic` (compiled), `logit_traffic`, `l2_working_set`, `layer_overhead`, `eager_launch_factor`
  and `era_factor`:
  fitted once, by weighted least squares in log(step time), to the published and field runs of
  benchmarks/ (benchmarks/fit_efficiency.py refits them; tests/test_time.py checks that the
  numbers below are that fit's minimum). Nothing was tuned per run afterwards.

Every constant is an overridable formula (`--set step_overhead=5ms`); `--set compute_hfu=0.45` or
`--set mfu=0.35` replaces the model altogether.
"""

from __future__ import annotations

from costmodel.declarations import Formula

# the fit's result (benchmarks/fit_efficiency.py; rounded to 3 significant digits)
FIT = {
    "activation_traffic": 346.0,  # byte/token per layer and channel of the residual width, compiled
    "logit_traffic": 41.7,  # byte/token per vocabulary entry
    "l2_working_set": 2.15,  # activation tensors of one micro-step that compete for the L2 cache
    "layer_overhead": 0.00292,  # s per micro-step and layer to launch the kernels, compiled
    "eager_launch_factor": 5.96,  # without torch.compile: times the per-layer time (one launch per op)
    "era_factor": 1.87,  # PyTorch 2.0 and its nightlies of 2022-23, compiled: times the memory-bound time
}
# counted (docs/time.md, "Bytes of a block"): bytes per token and channel of the residual width that the
# memory-bound kernels of one nanoGPT block's forward move; fp32 over bf16 autocast, compiled and eager
TRAFFIC_BYTES = {("compiled", "amp"): 34, ("compiled", "fp32"): 56, ("eager", "amp"): 68, ("eager", "fp32"): 80}
# counted, not fitted: without torch.compile every elementwise op reads its inputs and writes its output;
# TorchInductor fuses residual add + LayerNorm + cast into one kernel: 68 against 34 bytes, 2.0
EAGER_TRAFFIC_FACTOR = TRAFFIC_BYTES[("eager", "amp")] / TRAFFIC_BYTES[("compiled", "amp")]
# measured, not fitted: the mean "maximum achievable matmul FLOPS" efficiency of the A100 SXM
# (85.9 %), GH200 (83.0 %) and H100 SXM (80.1 %) in stas00/ml-engineering's comparison table
HFU_CEILING = 0.83
# counted, not fitted (docs/time.md): bytes per attention score and token moved by the explicit
# softmax(QK^T) of nanoGPT's slow path, unfused (eager) and as torch.compile fuses it
SCORE_BYTES = {"eager": 62.0, "compiled": 22.0}
# counted: AdamW in fp32 reads parameter, gradient and both moments (16 B) and writes parameter and
# moments (12 B); the gradient-norm clip reads the gradients (4 B); zero_grad clears them (4 B)
OPTIMIZER_BYTES = 36.0
# counted: bytes per element of a Linear layer's input (forward) and output gradient (backward) that
# nanochat's tensorwise FP8 moves: amax reduction (read 2), scale and cast (read 2, write 1), the
# column-major copy for the other backward product (read 1, write 1)
FP8_CAST_BYTES = 7.0
# derived, not fitted (docs/time.md): the head's matmuls with an odd vocabulary (50,257) against a multiple
# of 64 (50,304), from the 96 -> 93 ms step of GPT-2 124M on an A100 in Karpathy's GPT-2 reproduction (2024)
MISALIGNED_HEAD_FACTOR = 1.22
FP32_TRAFFIC = {mode: round(TRAFFIC_BYTES[(mode, "fp32")] / TRAFFIC_BYTES[(mode, "amp")], 3)
                for mode in ("compiled", "eager")}
# counted: llm.c's fused classifier reads the bf16 logits twice (2 + 2 B) and writes their gradient in place (2 B)
FUSED_LOSS_BYTES = 6.0
# fp16 with a loss scaler: unscale_ reads and writes every gradient (8 B), the inf check reads it (4 B)
LOSS_SCALER_BYTES = 12.0

MAMF_SOURCE = (
    "stas00/ml-engineering compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS comparison "
    "table' (BF16 matmul, measured: A100 SXM 267.9/312 = 85.9 %, GH200 821.0/989 = 83.0 %, "
    "H100 SXM 792.1/989 = 80.1 %; mean 83.0 %); a card file's hfu_ceiling replaces it"
)
FIT_SOURCE = (
    "costmodel fit to published and field runs: benchmarks/fit_efficiency.py over benchmarks/published_runs.py "
    "and benchmarks/field_runs.py (sources per run there; method: docs/time.md#the-efficiency-model)"
)
NANOGPT_SLOW_ATTENTION = "karpathy/nanoGPT model.py@3adf61e154c3 L66-L71 (q @ k^T * scale, masked_fill, softmax, dropout, @ v)"
VOCAB_PADDING = (
    "youtube.com/watch?v=l8pRSuU81PU (Karpathy, 'Let's reproduce GPT-2 (124M)', 2024), chapters 'flash attention, "
    "96ms' and 'nice/ugly numbers. vocab size 50257 -> 50304, 93ms' (benchmarks/field_runs.py P13, P14); "
    "karpathy/nanoGPT model.py@3adf61e154c3 L111 ('padded up to nearest multiple of 64 for efficiency'); NVIDIA "
    "Deep Learning Performance guide, 'Tensor Core requirements' (GEMM dimensions multiples of 8 for FP16/BF16)"
)
TRAFFIC_COUNT = (
    "counted from karpathy/nanoGPT model.py@3adf61e154c3 L94-L106 (Block: ln_1, attn, residual add, ln_2, mlp, "
    "residual add) with PyTorch's autocast op lists (torch.amp docs, 'CUDA Ops that can autocast to float32': "
    "layer_norm, softmax; a Linear's input is cast to bf16 by a separate kernel; fp32 + bf16 adds to fp32); "
    "table in docs/time.md"
)
LLMC_CLASSIFIER = (
    "karpathy/llm.c llmc/fused_classifier.cuh@f1e2ace (fused_classifier_kernel5: softmax statistics over the logits, "
    "a second read, dlogits stored over the logits; 'never materializes the full normalized logits')"
)
ADAMW = (
    "Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization (arXiv:1711.05101) Algorithm 2; "
    "PyTorch torch.optim.AdamW (fused): exp_avg, exp_avg_sq in fp32; karpathy/nanoGPT train.py@3adf61e154c3 "
    "L303-L311 (clip_grad_norm_, zero_grad(set_to_none=True))"
)

CONSTANTS = [
    Formula(
        target="hfu_ceiling",
        expr=f"{HFU_CEILING}",
        doc="utilisation of large, well-shaped matmuls: the measured maximum achievable matmul FLOPS "
        "(a card file may give its own measurement)",
        source=MAMF_SOURCE,
        overridable=True,
    ),
    Formula(
        target="activation_traffic",
        expr=f"{FIT['activation_traffic']} * byte/token",
        condition="compile",
        doc="bytes the memory-bound kernels move per token, layer and channel of the width, compiled (fitted)",
        source=FIT_SOURCE + "; roofline argument: Williams, Waterman & Patterson 2009, Roofline (CACM 52(4))",
        overridable=True,
    ),
    Formula(
        target="activation_traffic",
        expr=f"{EAGER_TRAFFIC_FACTOR} * {FIT['activation_traffic']} * byte/token",
        condition="not compile",
        doc="bytes the memory-bound kernels move per token, layer and channel of the width, "
        "without torch.compile: every elementwise op reads and writes its tensors (about twice the fused bytes)",
        source=FIT_SOURCE + "; PyTorch 2 paper, Ansel et al. 2024 (ASPLOS, doi:10.1145/3620665.3640366) "
        "section 6 (TorchInductor fuses pointwise and reduction ops)",
        overridable=True,
    ),
    Formula(
        target="traffic_element_bytes",
        expr="2 * byte",
        condition='precision != "fp32"',
        doc="bytes per element of the activations the memory-bound kernels move: bf16 or fp16",
        source="PyTorch torch.autocast (bf16/fp16 outputs of the matmuls); Kalamkar et al. 2019 (arXiv:1905.12322)",
    ),
    Formula(
        target="traffic_element_bytes",
        expr="4 * byte",
        condition='precision == "fp32"',
        doc="fp32 training: activations of 4 bytes move twice the bytes",
        source="IEEE 754 binary32",
    ),
    Formula(
        target="precision_traffic_factor",
        expr="1",
        condition='precision != "fp32"',
        doc="the memory-bound bytes of mixed precision (bf16/fp16 autocast) or pure bf16: the reference",
        source="definition",
    ),
    Formula(
        target="precision_traffic_factor",
        expr=f"{FP32_TRAFFIC['compiled']}",
        condition='precision == "fp32" and compile',
        doc="fp32 training, compiled: the fused kernels move 4-byte activations where autocast's move 2-byte ones "
        "(the residual stream is fp32 either way): 56 against 34 bytes per token and channel of a block's forward "
        "(counted)",
        source=TRAFFIC_COUNT,
    ),
    Formula(
        target="precision_traffic_factor",
        expr=f"{FP32_TRAFFIC['eager']}",
        condition='precision == "fp32" and not compile',
        doc="fp32 training without torch.compile: 80 against 68 bytes per token and channel of a block's forward "
        "(counted): eager autocast keeps the residual stream, LayerNorm and softmax in fp32 and adds a cast "
        "kernel before every Linear layer, so it saves little traffic over fp32",
        source=TRAFFIC_COUNT,
    ),
    Formula(
        target="l2_cache",
        expr="0 * byte",
        doc="no L2 cache counted unless the card file gives its size",
        source="definition (card files: l2_cache from the vendor's architecture whitepaper)",
        overridable=True,
    ),
    Formula(
        target="l2_working_set",
        expr=f"{FIT['l2_working_set']}",
        doc="activation tensors of the width d_model that a micro-step's elementwise kernels cycle through the L2 "
        "cache (fitted)",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="dram_share",
        expr="micro_step_tokens * d_model * traffic_element_bytes / token * l2_working_set"
        " / (micro_step_tokens * d_model * traffic_element_bytes / token * l2_working_set + l2_cache)",
        doc="share of the activation traffic that misses the L2 cache: small micro-steps of narrow models stay on chip",
        source="cache capacity argument (Hennessy & Patterson, Computer Architecture, 6th ed., ch. 2: a working set "
        "that fits the cache is served from it); the smooth form and l2_working_set are this model's (fitted)",
    ),
    Formula(
        target="logit_traffic",
        expr=f"{FIT['logit_traffic']} * byte/token",
        condition="not fused_loss",
        doc="bytes moved per token and vocabulary entry: logits, softmax and the loss's gradient (fitted)",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="logit_traffic",
        expr=f"{FUSED_LOSS_BYTES} * byte/token",
        condition="fused_loss",
        doc="one fused kernel computes softmax, loss and the logits' gradient: it reads the bf16 logits twice and "
        "writes the gradient over them (counted)",
        source=LLMC_CLASSIFIER,
        overridable=True,
    ),
    Formula(
        target="score_traffic",
        expr="0 * byte/token",
        condition='attention == "flash"',
        doc="fused attention keeps the scores on chip: no T x T traffic",
        source="Dao et al. 2022, FlashAttention (arXiv:2205.14135) section 3.1",
        overridable=True,
    ),
    Formula(
        target="score_traffic",
        expr=f"{SCORE_BYTES['eager']} * byte/token",
        condition='attention == "eager" and not compile',
        doc="bytes per attention score of explicit attention, unfused: scale, mask, fp32 softmax and "
        "their gradients each read and write the T x T matrix (counted, no dropout)",
        source=NANOGPT_SLOW_ATTENTION + "; counted in docs/time.md (24 B forward, 38 B backward per score)",
        overridable=True,
    ),
    Formula(
        target="score_traffic",
        expr=f"{SCORE_BYTES['compiled']} * byte/token",
        condition='attention == "eager" and compile',
        doc="bytes per attention score of explicit attention under torch.compile: one fused kernel between "
        "the two matmuls each way (counted)",
        source=NANOGPT_SLOW_ATTENTION + "; counted in docs/time.md (9 B forward, 13 B backward per score)",
        overridable=True,
    ),
    Formula(
        target="fp8_traffic",
        expr="0 * byte/token",
        condition="not fp8",
        doc="no FP8 casts",
        source="definition",
    ),
    Formula(
        target="fp8_traffic",
        expr=f"{FP8_CAST_BYTES} * byte/token * (18 * n_layer * d_model + vocab_size)",
        condition="fp8",
        doc="FP8 casts: every Linear layer's input and output gradient quantized once per pass; the inputs and "
        "outputs of a block's Linear layers add up to 18 d_model per layer (q, k, v, o: 8 d; MLP: 10 d), the head's to "
        "d_model + vocab_size (counted)",
        source="karpathy/nanochat nanochat/fp8.py@92d63d4e8bb4 L82-L107 (_to_fp8: amax, scale, clamp, cast), "
        "L135-L182 (inputs and grad_output cast, column-major copies for the backward products)",
        assumptions=("MLP 4x wide, attention projections d_model x d_model",),
    ),
    Formula(
        target="step_overhead",
        expr="0 * s",
        doc="fixed time of every micro-step beyond the launches (a Python loop's interpreter, data loading, "
        "synchronisation): fitted to its bound, 0, as the runs show none once the launches overlap the GPU's work "
        "(llm.c's C loop and PyTorch's alike); settable, e.g. --set step_overhead=2ms",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="software_slowdown",
        expr=f"{FIT['era_factor']} if pytorch_2023 and compile else 1",
        doc="the compiled memory-bound kernels of PyTorch 2.0 and its nightlies of 2022-23 (early TorchInductor, "
        "which fused fewer ops) moved this many times today's bytes (era_factor, fitted to the 2022-23 runs); 1 today "
        "and without torch.compile. The matmuls (cuBLAS) are not slowed: the RTX 4090 runs of March 2023 need no "
        "factor on them",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="misaligned_head_factor",
        expr=f"{MISALIGNED_HEAD_FACTOR}",
        doc="how much slower the output head's matmuls run when the vocabulary is not a multiple of 8 (derived "
        "from the 3 % faster GPT-2 124M step after padding 50,257 to 50,304)",
        source=VOCAB_PADDING + "; derivation in docs/time.md",
        overridable=True,
    ),
    Formula(
        target="misaligned_head_flops",
        expr="(misaligned_head_factor - 1) * 6 * d_model * vocab_size * FLOP/token * min(vocab_size % 8, 1)",
        doc="a vocabulary that is not a multiple of 8 (min(vocab_size % 8, 1) = 1): the output head's forward and "
        "backward matmuls (6 d_model vocab_size FLOPs per token) run misaligned_head_factor times slower, counted "
        "as that many extra FLOPs at the ceiling; 0 for an aligned vocabulary",
        source=VOCAB_PADDING,
    ),
    Formula(
        target="layer_overhead",
        expr=f"{FIT['layer_overhead']} * s",
        condition="compile",
        doc="fixed time per layer and micro-step: kernel launches and small kernels, compiled (fitted)",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="layer_overhead",
        expr=f"{FIT['eager_launch_factor']} * {FIT['layer_overhead']} * s",
        condition="not compile",
        doc="fixed time per layer and micro-step without torch.compile: one launch and one trip through the "
        "dispatcher per op (eager_launch_factor, fitted)",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="optimizer_traffic",
        expr=f"{OPTIMIZER_BYTES} * byte/param",
        condition='precision != "amp-fp16"',
        doc="bytes per parameter the optimizer step moves: AdamW's update, the gradient clip, zero_grad (counted)",
        source=ADAMW,
        overridable=True,
    ),
    Formula(
        target="optimizer_traffic",
        expr=f"{OPTIMIZER_BYTES + LOSS_SCALER_BYTES} * byte/param",
        condition='precision == "amp-fp16"',
        doc="as with bf16, plus the loss scaler's unscale and inf check of every gradient (counted)",
        source=ADAMW + "; PyTorch torch.amp.GradScaler (unscale_, _amp_foreach_non_finite_check_and_unscale_)",
        overridable=True,
    ),
    Formula(
        target="fp8_flops_per_token",
        expr="0 * FLOP/token",
        condition="not fp8",
        doc="no matmul runs in FP8",
        source="definition",
    ),
    Formula(
        target="fp8_flops_per_token",
        expr="6 * FLOP/(param*token) * n_params_matmul_weights",
        condition="fp8",
        doc="the Linear layers' matmuls (forward and both backward products) run in FP8",
        source="karpathy/nanochat scripts/base_train.py@92d63d4e8bb4 L167-L192 (every nn.Linear with dims "
        "divisible by 16 and >= 128 becomes Float8Linear); nanochat/fp8.py (torch._scaled_mm, tensorwise scaling)",
    ),
]

STEP = [
    Formula(
        target="micro_step_tokens",
        expr="micro_batch * seq_len",
        doc="tokens one GPU processes in one forward/backward pass",
        source="definition (karpathy/nanoGPT train.py@3adf61e154c3 L101 counts tokens_per_iter the same way)",
    ),
    Formula(
        target="matmul_time",
        expr="(flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token + misaligned_head_flops)"
        " * micro_step_tokens / (hfu_ceiling * peak_flops)",
        condition="not fp8",
        doc="the FLOPs of one micro-step at the card's matmul ceiling",
        source="definition of hardware FLOPs utilisation: Chowdhery et al. 2022, PaLM (arXiv:2204.02311) App. B",
    ),
    Formula(
        target="matmul_time",
        expr=(
            "((flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token) * micro_step_tokens / hfu_ceiling"
            " * ((1 - fp8_flops_per_token / flops_per_token) / peak_flops"
            " + fp8_flops_per_token / flops_per_token / peak_flops_fp8)"
            " + misaligned_head_flops * micro_step_tokens / (hfu_ceiling * peak_flops))"
        ),
        condition="fp8",
        doc="the Linear layers' share of the FLOPs at the FP8 peak, the rest (attention) at the precision's peak",
        source="card datasheet (peak_flops_fp8, dense); Micikevicius et al. 2022, FP8 Formats for Deep Learning "
        "(arXiv:2209.05433)",
        assumptions=("the card has FP8 tensor cores (Ada, Hopper, Blackwell)",),
    ),
    Formula(
        target="memory_traffic",
        expr=(
            "(activation_traffic * n_layer * d_model * dram_share + logit_traffic * vocab_size"
            " + score_traffic * n_layer * n_head * seq_len * sequence/token + fp8_traffic)"
            " * precision_traffic_factor * (flops_per_token + recompute_flops_per_token) / flops_per_token"
        ),
        doc="bytes the memory-bound kernels move per token: width, vocabulary and (eager) attention scores; "
        "scaled by the activation dtype and repeated for recomputed forwards",
        source="roofline: Williams, Waterman & Patterson 2009 (CACM 52(4)); elementwise traffic ~ layers x width per "
        "token (Korthikanti et al. 2022, arXiv:2205.05198, section 4.1 counts the same tensors)",
    ),
    Formula(
        target="memory_time",
        expr="micro_step_tokens * memory_traffic / mem_bandwidth",
        doc="time of the memory-bound kernels of one micro-step at the card's memory bandwidth",
        source="roofline: Williams, Waterman & Patterson 2009 (CACM 52(4))",
    ),
    Formula(
        target="gpu_time",
        expr="matmul_time + memory_time * software_slowdown",
        doc="the GPU's work in one micro-step: matmuls and memory-bound kernels, one after the other",
        source="roofline: Williams, Waterman & Patterson 2009 (CACM 52(4))",
        assumptions=("matmuls and memory-bound kernels do not overlap",),
    ),
    Formula(
        target="launch_time",
        expr="layer_overhead * n_layer",
        doc="the host's time to launch one micro-step's kernels (dispatcher, Python, the launches), per layer",
        source=FIT_SOURCE,
    ),
    Formula(
        target="micro_step_time",
        expr="sqrt(gpu_time**2 + launch_time**2) + step_overhead",
        doc="one forward and backward pass on one GPU: the host launches kernels while the GPU runs earlier ones, "
        "so the slower of the two sets the pace (a smooth maximum, exponent 2), plus the per-micro-step cost of "
        "the training loop",
        source="PyTorch docs, 'CUDA semantics: asynchronous execution' (kernel launches return before the kernel "
        "runs); the smooth maximum and its exponent are this model's, chosen by leave-one-out error "
        "(docs/time.md, 'The fit')",
    ),
    Formula(
        target="fixed_time",
        expr="micro_step_time - gpu_time",
        doc="the part of a micro-step the GPU does not compute: launches not hidden behind its work, the loop's cost",
        source="efficiency model (docs/time.md)",
    ),
    Formula(
        target="optimizer_time",
        expr="optimizer_traffic * n_params / mem_bandwidth",
        doc="the optimizer step: memory-bound, once per optimizer step",
        source=ADAMW,
    ),
    Formula(
        target="compute_hfu",
        expr=(
            "(flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token) * micro_step_tokens"
            " * grad_accum / (peak_flops * (grad_accum * micro_step_time + optimizer_time))"
        ),
        doc="efficiency model: executed FLOPs over the peak, over the micro-steps and the optimizer step",
        source=FIT_SOURCE,
        overridable=True,
    ),
]

FORMULAS = CONSTANTS + STEP
