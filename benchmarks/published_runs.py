"""Published training runs: what costmodel's efficiency model is fitted to and validated against.

Every run is written as a costmodel scenario (family, preset, card, the run's own settings) plus the
time its authors reported and where they said it. Research notes with the arithmetic behind every
number: docs/research/published-runs.md (the `#` below is its entry number).

`fit_weight` says how much a run counts in benchmarks/fit_efficiency.py: the confidence of the source
(high 1, medium 0.5, low 0.25; 0 = validation only: second-hand numbers, or a GPU the source does
not name) times the relevance of the software (1 for PyTorch trainers, the kind of program
costmodel's families describe; 0.5 for hand-written CUDA such as llm.c) times the era of the software
(1 for today's PyTorch; 0.5 for the PyTorch 2.0 nightlies of 2022-23, before fused AdamW and today's
TorchInductor). Nothing in a run was changed after the fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).resolve().parent
GPT_TOML = str(HERE / "families" / "gpt.toml")

WEIGHT = {"high": 1.0, "medium": 0.5, "low": 0.25, "validation only": 0.0}
STACK = {"pytorch": 1.0, "cuda": 0.5}
# PyTorch 2.0 nightlies of 2022-23 (early TorchInductor, no fused AdamW) count half: costmodel describes today's
ERA = {"current": 1.0, "2023": 0.5}


@attrs.frozen(kw_only=True)
class Run:
    key: str
    model: str  # what was trained, as the table shows it
    family: str
    hardware: str
    n_gpus: int
    preset: str | None = None
    values: dict[str, Any] = attrs.field(factory=dict)
    plugins: tuple[str, ...] = ()
    compare: str  # the costmodel result compared: iter_time [s/iteration], train_time or wall_time [s]
    reported: float  # the authors' figure in the canonical unit of `compare`
    reported_text: str  # as the source says it
    tokens_text: str
    source: str
    confidence: str  # a key of WEIGHT
    stack: str = "pytorch"  # a key of STACK
    note: str = ""
    quote: str = ""  # the log line or sentence the reported figure comes from, verbatim
    era: str = "current"  # "2023": PyTorch 2.0 nightlies of early 2023 (before fused AdamW and today's compiler)

    @property
    def consumer(self) -> bool:
        """GeForce or workstation card (the regime 'consumer'), as opposed to a data-centre part."""
        return "rtx" in self.hardware

    @property
    def compiled(self) -> bool:
        """torch.compile, or hand-written fused kernels (llm.c)."""
        return bool(self.values.get("compile")) or self.stack == "cuda"

    @property
    def fit_weight(self) -> float:
        return WEIGHT[self.confidence] * STACK[self.stack] * ERA[self.era]

    def scenario(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments of costmodel.api.estimate for this run."""
        era = {"pytorch_2023": True} if self.era == "2023" else {}
        values = {"n_gpus": self.n_gpus, **era, **self.values, **(extra or {})}
        return dict(preset=self.preset, hardware=self.hardware, values=values, plugins=self.plugins)


NANOGPT_OWT = {"vocab_size": 50304, "bias": False, "compile": True}  # train.py defaults from scratch: padded vocab, no bias
# llm.c pads 50257 to 50304 and keeps GPT-2's biases; hand-fused CUDA kernels (counted as compiled) launched from a
# C loop; its fused classifier (fused_loss)
LLMC = {"vocab_size": 50304, "bias": True, "compile": True, "fused_loss": True}
# bench.py@5a725d90 (2022-12-29) ran model.py before the vocabulary was padded (2023-02-03): GPT-2's 50,257 rows;
# and before the bias option (2023-01-27): model.py@5a725d90 L31-L33, L68-L69, L83-L85 (nn.Linear, nn.LayerNorm with biases)
NANOGPT_BENCH = {**NANOGPT_OWT, "vocab_size": 50257, "bias": True}

RUNS = [
    Run(
        key="nanochat-d32",
        model="nanochat d32 (1.88 B), v0",
        family="nanochat",
        preset="d32",
        hardware="h100-sxm",
        n_gpus=8,
        values={"version": "v0", "compile": True},
        compare="iter_time",
        reported=1.57188,
        reported_text="1,571.88 ms/step (71,680 steps, ~31 h)",
        tokens_text="37.6 B",
        source="karpathy/nanochat run1000.sh@c75fe54 L47-L67 (log: step 4 dt 1571.88ms, mfu 50.92) [#1]",
        confidence="high",
        quote='step 00004/71680 (0.01%) | loss: 8.813754 | lrm: 1.00 | dt: 1571.88ms | tok/sec: 83,385 | mfu: 50.92 | total time: 0.00m',
    ),
    Run(
        key="nanochat-d24-leaderboard",
        model="nanochat d24 (1.38 B), leaderboard run 1",
        family="nanochat",
        preset="d24",
        hardware="h100-sxm",
        n_gpus=8,
        values={"version": "head", "compile": True, "micro_batch": 16, "total_batch_size": "524288 token",
                "target_param_data_ratio": 12},
        compare="train_time",
        reported=10949.46713,
        reported_text="10,949 s of training (16,704 steps)",
        tokens_text="8.76 B",
        source="karpathy/nanochat dev/LEADERBOARD.md@92d63d4 'Run 1' (commit 348fbb3) [#3]",
        confidence="high",
        note="costmodel's head version is a later commit than the run's 348fbb3",
        quote="step 16704 ... total_training_time 10949.46713",
    ),
    Run(
        key="nanochat-d26-fp8",
        model="nanochat d26 (1.68 B), FP8, third-party model card",
        family="nanochat",
        preset="d26",
        hardware="h100-sxm",
        n_gpus=8,
        values={"version": "head", "compile": True, "fp8": True, "total_batch_size": "1048576 token",
                "target_param_data_ratio": 8.25},
        compare="train_time",
        reported=163 * 60.0,
        reported_text="163 min of training, MFU 60.44 % (of the BF16 peak)",
        tokens_text="7.58 B",
        source="huggingface.co/carlosaguayo/nanochat-d26 model card (mirror hfmirror.b1u3.net) [#21]",
        confidence="medium",
        quote="Training time 163 minutes ... FP8 training Yes (tensorwise) ... MFU 60.44%",
        note="device batch not stated: the d26 preset's 16",
    ),
    Run(
        key="nanochat-d20-a100",
        model="nanochat d20 (561 M), v0",
        family="nanochat",
        preset="d20",
        hardware="a100-80gb-sxm",
        n_gpus=8,
        values={"version": "v0", "compile": True, "micro_batch": 32},
        compare="iter_time",
        reported=3491758080 * 524288 / (8 * 0.2082 * 989e12),  # its MFU is relative to 989e12
        reported_text="~6.6 h for 21,400 steps; MFU 20.82 % of 989e12",
        tokens_text="11.2 B",
        source="huggingface.co/spaces/nanochat-students/README/discussions/9 and BrianGuo/nanochat-d20-chat "
        "model card (third party) [#2b]",
        confidence="medium",
        quote='Base Model Training (21,400 iterations) ... Training Time: ~6.6 hours ... MFU: 20.82%',
    ),
    Run(
        key="nanochat-d20-h100",
        model="nanochat d20 (561 M) speedrun, v0",
        family="nanochat",
        preset="d20",
        hardware="h100-sxm",
        n_gpus=8,
        values={"version": "v0", "compile": True, "micro_batch": 32},
        compare="train_time",
        reported=2.5 * 3600,
        reported_text="base training ~2.5 h (of 3 h 51 m for the whole pipeline)",
        tokens_text="11.2 B",
        source="deepwiki.com/ljq/nanochat/2-training-pipeline (second-hand); README@3a5e0bc L49 [#2]",
        confidence="validation only",
        note="the base-training share is second-hand",
        quote="base training ~2.5 h (deepwiki summary); README: 'about 4 hours'",
    ),
    Run(
        key="nanogpt-gpt2-owt",
        model="nanoGPT GPT-2 (124 M) on OpenWebText",
        family="nanogpt",
        preset="gpt2",
        hardware="a100-40gb-sxm",
        n_gpus=8,
        values={**NANOGPT_OWT, "eval_interval": 1000, "eval_iters": 200},
        compare="wall_time",
        reported=4 * 86400.0,
        reported_text="about 4 days (config: ~5 days)",
        tokens_text="295 B",
        source="karpathy/nanoGPT README.md@3adf61e1 L13, L115-L121; config/train_gpt2.py [#4]",
        confidence="medium",
        note="a rounded figure from the PyTorch 2.0 nightly era",
        quote='running on a single 8XA100 40GB node in about 4 days of training',
        era="2023",
    ),
    Run(
        key="nanogpt-bench",
        model="nanoGPT GPT-2 (124 M), bench.py, micro-batch 8",
        family="nanogpt",
        preset="gpt2",
        hardware="a100-40gb-sxm",
        n_gpus=1,
        values={**NANOGPT_BENCH, "attention": "eager", "micro_batch": 8, "gradient_accumulation_steps": 1},
        compare="iter_time",
        reported=0.135,
        reported_text="135 ms/iter with torch.compile",
        tokens_text="(benchmark)",
        source="karpathy/nanoGPT README.md@3adf61e1 L209; bench.py@5a725d90 [#4]",
        confidence="low",
        note="the GPU is not named (an A100 by context); model.py had only the explicit attention and the unpadded "
        "vocabulary (50,257) then",
        quote='cutting down iteration time from ~250ms / iter to 135ms / iter',
        era="2023",
    ),
    Run(
        key="nanogpt-bench-eager",
        model="nanoGPT GPT-2 (124 M), bench.py, micro-batch 8, no compile",
        family="nanogpt",
        preset="gpt2",
        hardware="a100-40gb-sxm",
        n_gpus=1,
        values={**NANOGPT_BENCH, "compile": False, "attention": "eager", "micro_batch": 8,
                "gradient_accumulation_steps": 1},
        compare="iter_time",
        reported=0.250,
        reported_text="~250 ms/iter without torch.compile",
        tokens_text="(benchmark)",
        source="karpathy/nanoGPT README.md@3adf61e1 L209; bench.py@5a725d90 [#4]",
        confidence="low",
        note="the GPU is not named (an A100 by context); the pair with the row above is the compile effect",
        quote='cutting down iteration time from ~250ms / iter to 135ms / iter',
        era="2023",
    ),
    Run(
        key="nanogpt-shakespeare-char",
        model="nanoGPT shakespeare-char (10.7 M)",
        family="nanogpt",
        preset="shakespeare-char",
        hardware="a100-40gb-sxm",
        n_gpus=1,
        values={"eval_interval": 250, "eval_iters": 200, "compile": True},
        compare="wall_time",
        reported=180.0,
        reported_text="about 3 minutes, evaluations included",
        tokens_text="82 M",
        source="karpathy/nanoGPT README.md@3adf61e1 L51; config/train_shakespeare_char.py [#5]",
        confidence="low",
        note="A100 type not stated; dropout 0.2",
        quote='On one A100 GPU this training run takes about 3 minutes',
        era="2023",
    ),
    Run(
        key="llmc-124m",
        model="llm.c GPT-2 (124 M)",
        family="nanogpt",
        preset="gpt2",
        hardware="a100-80gb-sxm",
        n_gpus=8,
        values={**LLMC, "micro_batch": 64, "gradient_accumulation_steps": 8},
        compare="iter_time",
        reported=0.300,
        reported_text="~300 ms/step (18,865 steps, ~90 min)",
        tokens_text="9.9 B",
        source="karpathy/llm.c scripts/run_gpt2_124M.sh@f1e2ace header; discussion #481 [#6]",
        confidence="high",
        stack="cuda",
        note="CUDA C, not PyTorch",
        quote='on 8X A100 80GB SXM ($14/hr) steps in ~300ms/iter',
    ),
    Run(
        key="llmc-350m",
        model="llm.c GPT-2 (350 M)",
        family="nanogpt",
        preset="gpt2-medium",
        hardware="a100-80gb-sxm",
        n_gpus=8,
        values={**LLMC, "micro_batch": 64, "gradient_accumulation_steps": 8},
        compare="iter_time",
        reported=0.820,
        reported_text="~820 ms/step (60,000 steps, 13.7 h)",
        tokens_text="31.5 B",
        source="karpathy/llm.c scripts/run_gpt2_350M.sh@f1e2ace header [#7]",
        confidence="high",
        stack="cuda",
        note="CUDA C, not PyTorch",
        quote='on 8X A100 80GB SXM ($14/hr) steps in ~820ms/iter',
    ),
    Run(
        key="llmc-1558m",
        model="llm.c GPT-2 (1.56 B)",
        family="nanogpt",
        preset="gpt2-xl",
        hardware="h100-sxm",
        n_gpus=8,
        values={**LLMC, "micro_batch": 16, "gradient_accumulation_steps": 64},
        compare="iter_time",
        reported=2.80,
        reported_text="2.80 s/step (32,000 steps, ~24 h)",
        tokens_text="33.6 B",
        source="karpathy/llm.c scripts/run_gpt2_1558M.sh@f1e2ace header; discussion #677 [#8]",
        confidence="high",
        stack="cuda",
        note="CUDA C, not PyTorch",
        quote='on 8X H100 80GB SXM ($28/hr) steps in 2.80s/iter',
    ),
    Run(
        key="parameter-golf-baseline",
        model="parameter-golf naive baseline (17 M)",
        family="gpt",
        hardware="h100-sxm",
        n_gpus=8,
        values={"layers": 9, "d_model": 512, "heads": 8, "kv_heads": 4, "mlp_mult": 2, "vocab": 1024,
                "micro_batch": 64, "grad_accum": 1, "compile": True},
        plugins=(GPT_TOML,),
        compare="iter_time",
        reported=0.04475,
        reported_text="44.75 ms/step (13,365 steps in 598 s)",
        tokens_text="7.0 B",
        source="openai/parameter-golf records/track_10min_16mb/2026-03-17_NaiveBaseline README.md@1ea2edf "
        "and train.log (grad_accum_steps:1, 17,059,912 params) [#10]",
        confidence="high",
        note="family benchmarks/families/gpt.toml",
        quote='Train time: 598047ms (step_avg:44.75ms)',
    ),
]


def by_key(key: str) -> Run:
    for run in RUNS:
        if run.key == key:
            return run
    raise KeyError(key)
