"""The default efficiency model: what fraction of the peak a training step reaches.

A step's compute on one GPU is modelled as three parts (docs/time.md, "The efficiency model"):

    time of one micro-step = W / (hfu_ceiling * peak)                 matmul-bound work
                           + W / (hfu_ceiling * peak) * k * (peak / mem_bandwidth) / d_model
                                                                      memory-bound work
                           + step_overhead                            fixed cost per micro-step

with W = (flops_per_token + recompute_flops_per_token) x micro_step_tokens. Dividing W / peak by
that time gives

    compute_hfu = hfu_ceiling / (1 + k * R / d_model + step_overhead * hfu_ceiling * peak / W)

where R = peak / mem_bandwidth is the card's machine balance [FLOP/byte]:
- the ceiling is what large, perfectly shaped matmuls reach: Stas Bekman's measured "maximum
  achievable matmul FLOPS" (A100 SXM 85.9 %, GH200 83.0 %, H100 SXM 80.1 % of the dense BF16 peak;
  their mean, 0.83, is used and not fitted);
- the elementwise work (norms, activations, residuals, softmax, optimizer) moves bytes in proportion
  to d_model per token and layer while the matmuls do FLOPs in proportion to d_model^2, so it costs
  k * R / d_model of the matmul time: narrow models and cards with a high FLOP/byte ratio lose most;
- every micro-step pays a fixed time (kernel launches, Python, data loading, synchronisation), which
  small models and small micro-batches cannot hide.

The two other constants were fitted once, by weighted least squares in log(step time), to
published runs (benchmarks/published_runs.py lists them with their sources;
benchmarks/fit_efficiency.py refits them, and tests/test_time.py checks that the numbers below are
that fit's minimum). Nothing was tuned per run afterwards. Each constant is an overridable formula: `--set step_overhead=5ms` changes it for
one question, and `--set compute_hfu=0.45` or `--set mfu=0.35` replaces the model altogether.
"""

from __future__ import annotations

from costmodel.declarations import Formula

FIT = {
    # measured, not fitted: the mean "maximum achievable matmul FLOPS" efficiency of the A100 SXM
    # (85.9 %), GH200 (83.0 %) and H100 SXM (80.1 %) in stas00/ml-engineering's comparison table
    "hfu_ceiling": 0.83,
    # the fit's result (benchmarks/fit_efficiency.py; rounded to 3 significant digits)
    "memory_traffic_coeff": 3.25,  # byte/FLOP
    "step_overhead": 0.00794,  # s per micro-step
}

MAMF_SOURCE = (
    "stas00/ml-engineering compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS comparison "
    "table' (BF16 matmul, measured: A100 SXM 267.9/312 = 85.9 %, GH200 821.0/989 = 83.0 %, "
    "H100 SXM 792.1/989 = 80.1 %; mean 83.0 %)"
)

FIT_SOURCE = (
    "costmodel fit to published runs: benchmarks/fit_efficiency.py over benchmarks/published_runs.py "
    "(sources: docs/research/published-runs.md; method: docs/time.md#the-efficiency-model)"
)

FORMULAS = [
    Formula(
        target="hfu_ceiling",
        expr=f"{FIT['hfu_ceiling']}",
        doc="best utilisation of large, well-shaped matmuls: the measured maximum achievable matmul FLOPS",
        source=MAMF_SOURCE,
        overridable=True,
    ),
    Formula(
        target="memory_traffic_coeff",
        expr=f"{FIT['memory_traffic_coeff']} * byte/FLOP",
        doc="memory-bound bytes per matmul FLOP, times d_model (fitted)",
        source=FIT_SOURCE + "; roofline argument: Williams, Waterman & Patterson 2009, Roofline "
        "(CACM 52(4)); elementwise traffic ~ d_model, matmul FLOPs ~ d_model^2 per token and layer",
        overridable=True,
    ),
    Formula(
        target="step_overhead",
        expr=f"{FIT['step_overhead']} * s",
        doc="fixed time of every micro-step: launches, Python, data loading, synchronisation (fitted)",
        source=FIT_SOURCE,
        overridable=True,
    ),
    Formula(
        target="micro_step_tokens",
        expr="micro_batch * seq_len",
        doc="tokens one GPU processes in one forward/backward pass",
        source="definition (karpathy/nanoGPT train.py@3adf61e154c3 L101 counts tokens_per_iter the same way)",
    ),
    Formula(
        target="compute_hfu",
        expr=(
            "hfu_ceiling / (1 + memory_traffic_coeff * peak_flops / (mem_bandwidth * d_model)"
            " + step_overhead * hfu_ceiling * peak_flops"
            " / ((flops_per_token + recompute_flops_per_token - frozen_flops_saved_per_token) * micro_step_tokens))"
        ),
        doc="efficiency model: ceiling, less memory-bound work (~ R / d_model) and a fixed cost per micro-step",
        source=FIT_SOURCE,
        assumptions=(
            "fused attention (flash/SDPA) and torch.compile or hand-written kernels, as in the fitted runs",
            "the card sustains its boost clock (power- or heat-limited GeForce cards may run slower)",
        ),
        overridable=True,
    ),
]
