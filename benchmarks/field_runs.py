"""Field runs: training runs users posted in public issues, logs and model cards, as costmodel scenarios.

Each row of the project's field-run collection (18 runs nobody on the project wrote, each with its
public source and the log line the figure comes from) and the further public runs found since,
written the way benchmarks/published_runs.py writes the published ones. Two kinds:

- `Run` (from published_runs.py): a time, set against costmodel's `iter_time`, `train_time` or
  `wall_time`;
- `MemoryRun`: a memory figure (`torch.cuda.max_memory_allocated`, `nvidia-smi` memory used) or a
  verdict (an out-of-memory error at a micro-batch, or a report that it fits).

Ids C01-D12 are those of the field-run collection; P.. are the public runs added here.
How a row was read is in its `note`; nothing was changed after the fit.
"""

from __future__ import annotations

from typing import Any

import attrs

from published_runs import Run

GiB = 2**30
MiB = 2**20

# --- the scenarios the rows share ---------------------------------------------------------------

# nanoGPT GPT-2 124M as the llm.c-style speedrun trainers run it (tyler-romero/nanogpt-speedrun):
# padded vocabulary, no bias, compiled, the loss computed without returning the logits
SPEEDRUN_124M = {"vocab_size": 50304, "bias": False, "compile": True}
# nanoGPT train.py of February 2023 (the GPT-2 124M config): the vocabulary was not yet padded
NANOGPT_2023 = {"vocab_size": 50257, "bias": False, "compile": True}
# build-nanogpt's train_gpt2.py@abb0323: GPT-2 with biases, padded vocabulary, use_compile = False
BUILD_NANOGPT = {"vocab_size": 50304, "bias": True, "compile": False}

# speedrun.sh's base_train as v0 designed it: depth 20, device_batch_size 32, 8 x H100 80 GB (P03, P08)
D20_SPEEDRUN = {"model": "nanochat d20 speedrun (561 M), v0, micro-batch 32", "family": "nanochat", "preset": "d20",
                "hardware": "h100-sxm", "n_gpus": 8, "values": {"version": "v0", "compile": True, "micro_batch": 32}}


@attrs.frozen(kw_only=True)
class MemoryRun:
    """A memory figure or an out-of-memory / fits report, as a costmodel scenario."""

    key: str
    model: str
    family: str
    hardware: str
    n_gpus: int
    preset: str | None = None
    values: dict[str, Any] = attrs.field(factory=dict)
    plugins: tuple[str, ...] = ()
    # "allocated" (max_memory_allocated: costmodel's mem_tensors_peak), "used" (nvidia-smi: mem_peak),
    # "oom" or "fits" (a verdict at this micro-batch on this card)
    measured: str
    reported: float | None = None  # bytes (allocated, used)
    reported_text: str
    source: str
    quote: str
    confidence: str
    note: str = ""

    @property
    def consumer(self) -> bool:
        return "rtx" in self.hardware

    def scenario(self) -> dict[str, Any]:
        as_run = Run(key=self.key, model=self.model, family=self.family, hardware=self.hardware,
                     n_gpus=self.n_gpus, preset=self.preset, values=self.values, plugins=self.plugins,
                     compare="iter_time", reported=1.0, reported_text="", tokens_text="",
                     source=self.source, confidence="validation only")
        return as_run.scenario()


TIME_RUNS = [
    Run(
        key="C01",
        model="nanochat d20 (561 M), v0, micro-batch 4",
        family="nanochat",
        preset="d20",
        hardware="rtx-4090",
        n_gpus=1,
        values={"version": "v0", "compile": True, "micro_batch": 4},
        compare="iter_time",
        reported=13.77673,
        reported_text="13,776.73 ms/step (64 micro-steps)",
        tokens_text="11.2 B",
        source="github.com/karpathy/nanochat/issues/157 (zussini, 2025-10-30)",
        quote="step 04245/21400 (19.84%) | loss: 3.012123 | lrm: 1.00 | dt: 13776.73ms | tok/sec: 594 | "
        "mfu: 13.44 | total time: 971.74m",
        confidence="high",
        note="printed mfu 13.44 is vs an H100 (989e12): 80 % of the 4090's 165.2",
    ),
    Run(
        key="C02",
        model="GPT-2 (124 M), llm.c-style PyTorch trainer",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-4090",
        n_gpus=2,
        values={**SPEEDRUN_124M, "micro_batch": 32, "gradient_accumulation_steps": 8},
        compare="iter_time",
        reported=1.19134,
        reported_text="1,191.34 ms/step (2 GPUs x 4 micro-steps)",
        tokens_text="6.44 B",
        source="github.com/tyler-romero/nanogpt-speedrun logs/4c627c0d-029c-4f8a-bd18-40f99b43b22e.txt "
        "(commit b3c32f8, 2025-01-16), PyTorch 2.5.1",
        quote="step:24576/24576 train_loss:3.3289 train_time:29266506ms step_avg:1191.34ms tokens_seen:6.44e+09",
        confidence="high",
    ),
    Run(
        key="C04",
        model="modded GPT-2 (124 M), RoPE, ReLU², fp32 logits",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-4090",
        n_gpus=2,
        values={**SPEEDRUN_124M, "micro_batch": 32, "gradient_accumulation_steps": 16},
        compare="iter_time",
        reported=2.79939,
        reported_text="2,799.39 ms/step (2 GPUs x 8 micro-steps)",
        tokens_text="5.07 B",
        source="github.com/tyler-romero/nanogpt-speedrun logs/14fcdb07-443d-4d1c-b307-061bc4bd2cd6.txt "
        "(commit b7bb93f, 2025-01-18)",
        quote="step:9664/9664 val_loss:3.2826 train_time:27025269ms step_avg:2799.39ms",
        confidence="high",
        note="described with the nanogpt family (same matmul FLOPs; RoPE and ReLU² not modelled)",
    ),
    Run(
        key="C06",
        model="nanoGPT GPT-2 (124 M), Feb 2023 train.py",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-4090",
        n_gpus=1,
        values={**NANOGPT_2023, "vocab_size": 50304, "micro_batch": 12, "gradient_accumulation_steps": 40},
        compare="iter_time",
        # the printed MFU is nanoGPT's estimate_mfu against 312e12: step time = tokens x FLOPs / (0.29 x 312e12),
        # with nanoGPT's FLOPs per token 6 N + 12 L H Q T = 6 x 123,587,328 + 12 x 12 x 12 x 64 x 1024
        # (N without the position embedding; vocabulary padded to 50,304 since 2023-02-04)
        reported=12 * 1024 * 40 * (6 * 123_587_328 + 12 * 12 * 12 * 64 * 1024) / (0.29 * 312e12),
        reported_text="29 % MFU as nanoGPT prints it (vs an A100's 312e12)",
        tokens_text="(single GPU)",
        source="github.com/karpathy/nanoGPT/issues/182 (akjindal53244, 2023-03-02); config posted in issue #179",
        quote="Hi @yohan-pg , on 1x 4090 GPU, I am getting 29% MFU while training GPT-2 124M model.",
        confidence="medium",
        era="2023",
        note="single-GPU path multiplies gradient_accumulation_steps 5 by 8 (train.py@086ebe18)",
    ),
    Run(
        key="P15",
        model="nanoGPT GPT-2 (124 M), train.py of March 2023, 40 micro-steps",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-4090",
        n_gpus=1,
        values={**NANOGPT_2023, "vocab_size": 50304, "micro_batch": 12, "gradient_accumulation_steps": 40},
        compare="iter_time",
        reported=4.62731,
        reported_text="4,627.31 ms/iter (iters 10-190: 4,619-4,779 ms, median 4,627)",
        tokens_text="(single GPU)",
        source="github.com/karpathy/nanoGPT/pull/225 (otaviogood, 2023-03-26), 'Tested, using pytorch 2 (recently "
        "released): gpt2, 1 GPU (4090) python3 train.py config/train_gpt2.py'",
        quote="iter 20: loss 9.8023, time 4627.31ms, mfu 28.88%",
        confidence="high",
        era="2023",
        note="the same scenario as C06, timed directly: its printed MFU (28.9 % of an A100's 312e12) confirms C06's "
        "4.64 s; PyTorch 2.0.0 (released 2023-03-15)",
    ),
    Run(
        key="C07",
        model="nanoGPT shakespeare-char (10.7 M), no accumulation",
        family="nanogpt",
        preset="shakespeare-char",
        hardware="rtx-a6000",
        n_gpus=1,
        values={"compile": True, "gradient_accumulation_steps": 1},
        compare="iter_time",
        reported=0.04804,
        reported_text="48.04 ms/iter (author: 'around 40ms')",
        tokens_text="(benchmark)",
        source="github.com/karpathy/nanoGPT/pull/225 (dkobak, 2023-04-13)",
        quote="iter 220: loss 2.1410, time 48.04ms, mfu 8.06%",
        confidence="high",
        era="2023",
        note="other lines 67.98 ms, 37.94 ms",
    ),
    Run(
        key="C08",
        model="nanoGPT shakespeare-char (10.7 M), 40 micro-steps",
        family="nanogpt",
        preset="shakespeare-char",
        hardware="rtx-a6000",
        n_gpus=1,
        values={"compile": True, "gradient_accumulation_steps": 40},
        compare="iter_time",
        reported=1.60802,
        reported_text="1,608.02 ms/iter",
        tokens_text="(benchmark)",
        source="github.com/karpathy/nanoGPT/pull/225 (dkobak, 2023-04-13), 'With the current master'",
        quote="iter 160: loss 2.0543, time 1608.02ms, mfu 9.35%",
        confidence="high",
        era="2023",
        note="other lines 1,627.96 and 1,590.82 ms",
    ),
    Run(
        key="C11",
        model="nanochat d20 (561 M), v0, micro-batch 4",
        family="nanochat",
        preset="d20",
        hardware="rtx-3090",
        n_gpus=1,
        values={"version": "v0", "compile": True, "micro_batch": 4},
        compare="train_time",
        reported=220 * 3600.0,
        reported_text="~220 h ('approximately 55x longer than the 8XH100 setup')",
        tokens_text="11.2 B",
        source="github.com/moquanyi/nanochat README@1e48045 (PR karpathy/nanochat#237, 2025-11-03)",
        quote="Training with a single 3090 will take approximately 55x longer than the 8XH100 setup "
        "(~220 hours instead of 4)",
        confidence="low",
        note="stated for the whole pipeline, read as base training: any smaller share would need more "
        "than the 3090's 71 TFLOP/s peak",
    ),
    Run(
        key="C12",
        model="llm.c GPT-2 (124 M), micro-batch 4",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-5090",
        n_gpus=1,
        values={"vocab_size": 50304, "bias": True, "compile": True, "fused_loss": True,
                "micro_batch": 4,
                "gradient_accumulation_steps": 1},
        compare="iter_time",
        reported=0.04457,
        reported_text="44.57 ms/step",
        tokens_text="(benchmark)",
        source="github.com/karpathy/llm.c/issues/796 (edisonchan, 2025-02-11), 'USE_CUDNN=1 make all; ./train_gpt2cu'",
        quote="step   61/74 | loss 3.208939 (+nanz)| norm 1.4800 (+nanz)| lr 3.00e-04 | 44.57 ms | -100.0% bf16 MFU "
        "| 91886 tok/s",
        confidence="high",
        stack="cuda",
    ),
    Run(
        key="D01",
        model="nanoGPT GPT-2 (124 M), Feb 2023 train.py",
        family="nanogpt",
        preset="gpt2",
        hardware="a100-40gb-sxm",
        n_gpus=8,
        values={**NANOGPT_2023, "micro_batch": 12, "gradient_accumulation_steps": 40},
        compare="iter_time",
        reported=0.56218,
        reported_text="562.18 ms/iter (lines 1631-1641: 561.50-567.31 ms)",
        tokens_text="(8 GPUs x 5 micro-steps)",
        source="github.com/karpathy/nanoGPT/issues/110 (jprobichaud, 2023-02-02)",
        quote="iter 1640: loss 3.6782, time 562.18ms",
        confidence="high",
        era="2023",
        note="A100 memory size not stated (40 GB assumed); non-fused AdamW then",
    ),
    Run(
        key="D02",
        model="nanoGPT shakespeare-char (10.7 M), eager attention, 40 micro-steps",
        family="nanogpt",
        preset="shakespeare-char",
        hardware="a100-40gb-sxm",
        n_gpus=1,
        values={"compile": True, "attention": "eager", "gradient_accumulation_steps": 40},
        compare="iter_time",
        reported=0.89409,
        reported_text="894.09 ms/iter",
        tokens_text="(benchmark)",
        source="github.com/karpathy/nanoGPT/issues/178 (otaviogood, 2023-02-24; 'your lambda lab run')",
        quote="iter 50: loss 2.5026, time 894.09ms, mfu 16.67%",
        confidence="medium",
        era="2023",
        note="flash attention was off with dropout > 0 until 2023-03-05",
    ),
    Run(
        key="D10",
        model="build-nanogpt GPT-2 (124 M), no compile",
        family="nanogpt",
        preset="gpt2",
        hardware="h800-sxm",
        n_gpus=2,
        values={**BUILD_NANOGPT, "micro_batch": 64, "gradient_accumulation_steps": 8},
        compare="iter_time",
        reported=0.92733,
        reported_text="927.33 ms/step (524,288 tokens)",
        tokens_text="(2 GPUs x 4 micro-steps)",
        source="github.com/logbob0401/build-nanogpt practice.md + train_gpt2.py@abb0323 (2024)",
        quote="step   498 | loss: 5.180400 | lr 4.1874e-04 | norm: 1.0096 | dt: 927.33ms | tok/sec: 565373.84",
        confidence="low",
        note="GPU count inferred from the nvidia-smi listing",
    ),
]

# Karpathy's "Let's reproduce GPT-2 (124M)" (2024): the speed-up chapters time one step of build-nanogpt's
# train_gpt2.py, GPT-2 124M with biases, B=16 x T=1024, one micro-step, on one A100 80GB SXM; each chapter
# adds one change to the one before. The times are the chapter titles (rounded, as said in the video).
REPRO = {"vocab_size": 50257, "bias": True, "micro_batch": 16, "gradient_accumulation_steps": 1}
REPRO_SOURCE = ("youtube.com/watch?v=l8pRSuU81PU (Karpathy, 'Let's reproduce GPT-2 (124M)', 2024-06-09), chapter "
                "titles as listed at classcentral.com/course/youtube-let-s-reproduce-gpt-2-124m-295231; code: "
                "karpathy/build-nanogpt train_gpt2.py (B=16, T=1024)")
REPRO_STEPS = (
    # key, what changes, values, ms, chapter title
    ("P10", "TF32 matmuls, no compile, explicit attention", {"precision": "fp32", "compile": False, "attention": "eager"},
     333, "Tensor Cores, timing the code, TF32 precision, 333ms"),
    ("P11", "bf16 autocast, no compile, explicit attention", {"compile": False, "attention": "eager"},
     300, "float16, gradient scalers, bfloat16, 300ms"),
    ("P12", "bf16, torch.compile, explicit attention", {"compile": True, "attention": "eager"},
     130, "torch.compile, Python overhead, kernel fusion, 130ms"),
    ("P13", "bf16, torch.compile, flash attention", {"compile": True, "attention": "flash"},
     96, "flash attention, 96ms"),
    ("P14", "bf16, torch.compile, flash attention, vocabulary 50,304", {"compile": True, "attention": "flash",
                                                                         "vocab_size": 50304},
     93, "nice/ugly numbers. vocab size 50257 → 50304, 93ms"),
)
TIME_RUNS += [
    Run(
        key=key,
        model=f"build-nanogpt GPT-2 (124 M), micro-batch 16: {what}",
        family="nanogpt",
        preset="gpt2",
        hardware="a100-80gb-sxm",
        n_gpus=1,
        values={**REPRO, **values},
        compare="iter_time",
        reported=ms / 1000,
        reported_text=f"{ms} ms/step (rounded, as the video says it)",
        tokens_text="(benchmark)",
        source=REPRO_SOURCE,
        quote=chapter,
        confidence="medium",
        note="GPU as said in the video (an 8x A100 80GB SXM node, one GPU used); the figures are rounded",
    )
    for key, what, values, ms, chapter in REPRO_STEPS
]

# modded GPT-2 trainers (modded-nanogpt train_gpt2.py@e5b254f L127-L241; tyler-romero/nanogpt-speedrun run 2.1):
# GPT-2 124M with rotary q and k from the fused c_attn, weightless RMSNorm, ReLU², tied lm_head, logits.float()
MODDED_124M = {**SPEEDRUN_124M, "positions": "rotary", "norm": "rmsnorm", "norm_weight": False, "mlp": "relu2",
               "logits_fp32": True}
# modded-nanogpt@e5b254f also trains the blocks' matrices with Muon (one momentum buffer each, L392) and lm_head
# with AdamW (L390)
MODDED_E5B254F = {**MODDED_124M, "optimizer": "muon"}

MEMORY_RUNS = [
    MemoryRun(
        key="C03",
        model="GPT-2 (124 M), llm.c-style PyTorch trainer, micro-batch 32",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-4090",
        n_gpus=2,
        values={**SPEEDRUN_124M, "micro_batch": 32, "gradient_accumulation_steps": 8},
        measured="allocated",
        reported=18885 * MiB,
        reported_text="18,885 MiB max_memory_allocated",
        source="tyler-romero/nanogpt-speedrun log 4c627c0d (as C02), last line",
        quote="peak memory consumption: 18885 MiB",
        confidence="high",
        note="the loop calls model(x, y, return_logits=False): logits are not kept",
    ),
    MemoryRun(
        key="C05",
        model="modded GPT-2 (124 M), fp32 logits, micro-batch 32",
        family="nanogpt",
        preset="gpt2",
        hardware="rtx-4090",
        n_gpus=2,
        values={**MODDED_124M, "micro_batch": 32, "gradient_accumulation_steps": 16},
        measured="allocated",
        reported=20567 * MiB,
        reported_text="20,567 MiB max_memory_allocated",
        source="tyler-romero/nanogpt-speedrun log 14fcdb07 (as C04)",
        quote="peak memory consumption: 20567 MiB",
        confidence="high",
        note="fp32 logits inside the compiled forward; RoPE, ReLU², RMSNorm, AdamW (field-run collection); c_attn "
        "fused as in modded-nanogpt",
    ),
    MemoryRun(
        key="D06",
        model="nanochat d20 @50413d2 (2026-01-15, as v0), micro-batch 32",
        family="nanochat",
        preset="d20",
        hardware="h100-sxm",
        n_gpus=8,
        # the card's total as the error message reports it (CUDA's, below nvidia-smi's 81,559 MiB)
        values={"version": "v0", "compile": True, "micro_batch": 32, "gpu_memory_usable": "79.19 GiB"},
        measured="oom",
        reported_text="out of memory at micro-batch 32 (79.19 GiB usable)",
        source="github.com/karpathy/nanochat/issues/443 (eliplutchok, 2026-01-16)",
        quote="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 8.00 GiB. GPU has 79.19 GiB total, "
        "6.68 GiB free, 72.48 GiB in use by this process.",
        confidence="medium",
        note="nanochat@50413d2 is v0's design (base_train.py L15, L81: expandable segments, autocast; gpt.py L221: "
        "bf16 wte; DistMuon/DistAdamW; speedrun.sh L62: a 65,536-token tokenizer), modelled as v0, plus what v0 lacks: "
        "per-layer resid/x0 lambdas (gpt.py L359: each block's input lambda x + mu x0 keeps about one bf16 d-wide "
        "tensor per layer more, 20 x 65,536 x 1,280 x 2 B = 3.1 GiB, not modelled) and FA3; version head (92d63d4, "
        "value embeddings, 32,768 tokens) is a later design. The message says 72.48 GiB in use + 8.00 GiB asked "
        "= 80.48 GiB needed at the loss's backward (the bf16 logits' gradient, a (65536, 65536) buffer); the "
        "maintainer could not reproduce it ('weird I can't reproduce this'): borderline",
    ),
    MemoryRun(
        key="D07",
        model="modded-nanogpt (124 M) @e5b254f, micro-batch 64",
        family="nanogpt",
        preset="gpt2",
        hardware="l40s",
        n_gpus=8,
        values={**MODDED_E5B254F, "micro_batch": 64, "gradient_accumulation_steps": 8},
        measured="oom",
        reported_text="out of memory at micro-batch 64 (44.99 GiB usable)",
        source="github.com/KellerJordan/modded-nanogpt/issues/12 (2024-10-13)",
        quote="I tried it on 8 L4OS (GPU 45GB in RAM), it failed with OOM error.",
        confidence="medium",
        note="train_gpt2.py@e5b254f: batch_size 8*64 sequences over 8 GPUs, so no accumulation at 64 (L334-L335); "
        "no expandable segments; coordinate_descent_tuning (L381-L382)",
    ),
    MemoryRun(
        key="D07b",
        model="modded-nanogpt (124 M) @e5b254f, micro-batch 32",
        family="nanogpt",
        preset="gpt2",
        hardware="l40s",
        n_gpus=8,
        values={**MODDED_E5B254F, "micro_batch": 32, "gradient_accumulation_steps": 16},
        measured="fits",
        reported_text="fits at micro-batch 32",
        source="github.com/KellerJordan/modded-nanogpt/issues/12 (2024-10-13)",
        quote="changing batchsize to 32 made working",
        confidence="medium",
    ),
    MemoryRun(
        key="D11",
        model="build-nanogpt GPT-2 (124 M), no compile, micro-batch 128",
        family="nanogpt",
        preset="gpt2",
        hardware="h800-sxm",
        n_gpus=2,
        values={**BUILD_NANOGPT, "micro_batch": 128, "gradient_accumulation_steps": 4},
        measured="oom",
        reported_text="out of memory at micro-batch 128 (79.65 GiB usable)",
        source="github.com/logbob0401/build-nanogpt practice.md (as D10)",
        quote="(Done)尝试加大batch 16->64(good)->128(oom)",
        confidence="medium",
    ),
    MemoryRun(
        key="D12",
        model="build-nanogpt GPT-2 (124 M), no compile, micro-batch 64",
        family="nanogpt",
        preset="gpt2",
        hardware="h800-sxm",
        n_gpus=2,
        values={**BUILD_NANOGPT, "micro_batch": 64, "gradient_accumulation_steps": 8},
        measured="used",
        reported=79e9,
        reported_text="'79GB+' in nvidia-smi",
        source="github.com/logbob0401/build-nanogpt practice.md (as D10)",
        quote="after update batch  to 64, tok/s increase to 565k/s, memory used about 79GB+, use rate increase "
        "from 26p to 97p",
        confidence="low",
        note="nvidia-smi 'used' includes the allocator's cache: compared with mem_peak",
    ),
    MemoryRun(
        key="P02",
        model="nanochat d20 (561 M), micro-batch 32",
        family="nanochat",
        preset="d20",
        hardware="a100-80gb-sxm",
        n_gpus=8,
        values={"version": "v0", "compile": True, "micro_batch": 32},
        measured="allocated",
        reported=75_400 * MiB,
        reported_text="'75.4 GiB' on the card (75,400 MiB)",
        source="huggingface.co/BrianGuo/nanochat-d20-chat model card (commit d6d86cb); nanochat-students "
        "discussion #9",
        quote="Peak Memory: 75.4 GiB",
        confidence="medium",
        note="nanochat's report prints torch.cuda.max_memory_allocated() in MiB only (base_train.py@fae3aca: "
        "'Peak memory usage: ...MiB'); the same configuration on 8 x H100 prints 75422.02MiB (P08), so the card's "
        "'75.4 GiB' is read as 75,400 MiB (73.6 GiB): a 75.4 GiB peak would be 1.8 GiB more than the same code "
        "allocates on H100",
    ),
    MemoryRun(
        key="P08",
        **D20_SPEEDRUN,
        measured="allocated",
        reported=75_422.02 * MiB,
        reported_text="75,422.02 MiB peak",
        source="github.com/royam0820/nanochat-speedrun-001 report.md@c0f21a2 (nanochat c6b7ab7, 2025-11-11, "
        "PyTorch 2.8.0+cu128, 8x NVIDIA H100 80GB HBM3); the same line in theogbrand/nanochat run2.md@6310b10 "
        "(nanochat af82c3a, 2025-10-16)",
        quote="Peak memory usage: 75422.02MiB",
        confidence="high",
        note="speedrun.sh's base_train (depth 20, device_batch_size 32) as v0 designed it (DistMuon/DistAdamW, "
        "autocast, expandable segments, torch 2.8); the report prints torch.cuda.max_memory_allocated() / 2**20",
    ),
    MemoryRun(
        key="P03",
        **D20_SPEEDRUN,
        measured="fits",
        reported_text="runs (the published speedrun)",
        source="karpathy/nanochat speedrun.sh@3a5e0bc (device_batch_size 32 on 8xH100 80GB) and its report card",
        quote="Total wall clock time: 3h51m",
        confidence="high",
    ),
    MemoryRun(
        key="P04",
        model="nanochat d20 (561 M), v0, micro-batch 4",
        family="nanochat",
        preset="d20",
        hardware="rtx-3090",
        n_gpus=1,
        values={"version": "v0", "compile": True, "micro_batch": 4},
        measured="fits",
        reported_text="fits in 24 GB at micro-batch 4",
        source="github.com/karpathy/nanochat/pull/237 (moquanyi, 2025-11-03), speedrun_1x3090.sh",
        quote="Changes in source code to fit within 24GB VRAM: - **Reduced batch sizes**: `device_batch_size` "
        "reduced from 32 → 4 in base training and midtraining",
        confidence="high",
    ),
    MemoryRun(
        key="P05",
        model="nanochat d20 (561 M), v0, micro-batch 4",
        family="nanochat",
        preset="d20",
        hardware="rtx-4090",
        n_gpus=1,
        values={"version": "v0", "compile": True, "micro_batch": 4},
        measured="fits",
        reported_text="runs at micro-batch 4 (C01)",
        source="github.com/karpathy/nanochat/issues/157 (zussini, 2025-10-30)",
        quote="with batch size = 4 and it looks like it will take around 3 days",
        confidence="high",
    ),
    MemoryRun(
        key="P06",
        model="nanochat d32 (1.88 B), v0, micro-batch 16",
        family="nanochat",
        preset="d32",
        hardware="h100-sxm",
        n_gpus=8,
        values={"version": "v0", "compile": True, "micro_batch": 16},
        measured="oom",
        reported_text="out of memory at micro-batch 16",
        source="karpathy/nanochat run1000.sh@fae3aca L40-L42 (the author sizing the published d32 run)",
        quote="Running the base_train.py script with --depth=32, I saw that --device_batch_size=16 runs out of memory",
        confidence="high",
    ),
    MemoryRun(
        key="P07",
        model="nanochat d32 (1.88 B), v0, micro-batch 8",
        family="nanochat",
        preset="d32",
        hardware="h100-sxm",
        n_gpus=8,
        values={"version": "v0", "compile": True, "micro_batch": 8},
        measured="used",
        reported=78_000 * MiB,
        reported_text="'about 78/80GB' in nvidia-smi (78,000 MiB)",
        source="karpathy/nanochat run1000.sh@fae3aca L40-L42 (the published d32 run, 8 x H100 80 GB)",
        quote="--device_batch_size=8 fits. Inspecting `nvidia-smi` during training, I saw all GPUs were at about "
        "78/80GB VRAM, so it just barely fits",
        confidence="medium",
        note="nvidia-smi 'used': the allocator's reserved memory (allocated or cached), the CUDA context and NCCL's "
        "buffers, compared with mem_peak. nvidia-smi prints MiB and shows this card as 81559MiB, the '80GB' of the "
        "quote, so '78' is about 78,000 MiB (76.2 GiB; 78e9 bytes would have shown as 74387MiB). It bounds what the "
        "run needed from above: the caching allocator keeps freed memory until an allocation fails (docs/memory.md)"
    ),
]
