"""nanoGPT's training log, for `costmodel calibrate`: what train.py prints and how to read it.

    step 0: train loss 10.9870, val loss 10.9890                  (train.py L265, every eval_interval)
    iter 120: loss 3.2190, time 143.07ms, mfu 31.52%              (train.py L327)

An iteration that follows a "step N: train loss" line with the same N includes that evaluation in
its time. train.py prints mfu -100% until its 5th iteration (L324: `local_iter_num >= 5`), its own
warm-up; the MFU it prints is relative to an A100's bf16 peak, 312e12 FLOP/s, on any GPU
(model.py L301 `estimate_mfu`). Header lines: "tokens per iteration will be: N" (train.py L102) and
"number of parameters: 123.59M" (model.py L148, without the position embedding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from costmodel.calibrate import LogFormat, LogReading, Step, loss, number

from costmodel_nanogpt.upstream import src

A100_BF16_PEAK = 312e12  # FLOP/s: model.py L301, flops_promised
WARMUP = 5  # train.py L324: MFU is measured from the 5th iteration on

_ITER = re.compile(r"\biter (?P<step>\d+): loss (?P<loss>\S+), time (?P<ms>[0-9.]+)ms, mfu (?P<mfu>-?[0-9.]+)%\s*$")
_ITER_START = re.compile(r"\biter \d+:")
_EVAL = re.compile(r"\bstep (?P<step>\d+): train loss \S+, val loss \S+\s*$")
_HEADERS = (
    ("tokens_per_iter", re.compile(r"tokens per iteration will be: (?P<v>[0-9,]+)"), 1.0),
    ("n_params_reported", re.compile(r"number of parameters: (?P<v>[0-9.]+)M"), 1e6),
)


def read(lines: Sequence[str]) -> LogReading:
    steps: list[Step] = []
    problems: list[tuple[int, str]] = []
    header: dict[str, float] = {}
    pending_eval: int | None = None
    for at, line in enumerate(lines, start=1):
        m = _EVAL.search(line)
        if m is not None:
            pending_eval = int(m.group("step"))
            continue
        if _ITER_START.search(line):
            m = _ITER.search(line)
            if m is None:
                problems.append((at, "nanoGPT iteration line cut off or garbled; skipped"))
                continue
            seconds = float(m.group("ms")) / 1000
            if seconds <= 0:
                problems.append((at, "step time is 0; skipped"))
                continue
            step = int(m.group("step"))
            steps.append(Step(line=at, step=step, seconds=seconds, loss=loss(m.group("loss")),
                              mfu_printed=float(m.group("mfu")), after_eval=pending_eval == step))
            pending_eval = None
            continue
        for name, pattern, scale in _HEADERS:
            h = pattern.search(line)
            if h is not None:
                try:
                    header[name] = number(h.group("v")) * scale
                except ValueError:
                    problems.append((at, f"header line for {name} does not parse; ignored"))
    return LogReading(format="nanogpt", steps=tuple(steps), problems=tuple(problems), header=header,
                      warmup=WARMUP, mfu_peak=A100_BF16_PEAK)


NANOGPT_LOG = LogFormat(
    name="nanogpt",
    doc="karpathy/nanoGPT train.py: 'iter N: loss L, time Tms, mfu M%'",
    source=src("train.py", "L265, L324-L327") + "; " + src("model.py", "L289-L303"),
    read=read,
)
