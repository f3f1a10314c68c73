"""nanoGPT's training log, for `costmodel calibrate`: what train.py prints and how to read it.

    step 0: train loss 10.9870, val loss 10.9890                  (train.py L265, every eval_interval)
    iter 120: loss 3.2190, time 143.07ms, mfu 31.52%              (train.py L327)

An iteration that follows a "step N: train loss" line with the same N includes that evaluation in
its time (step 0's, too: its time is compilation plus an evaluation). The steps of those lines give
the evaluation interval; without two of them, the config's eval_interval or train.py's default.

The run's settings: configurator.py prints a config file it is given ("Overriding config with
config/x.py:" and the file's text, L21-L24) and every `--key=value` ("Overriding: key = value",
L43); train.py prints "found vocab_size = 65 (inside ...meta.pkl)" (L144). They are parsed (never
run) as `--config` files are (costmodel_nanogpt.config) and become the scenario's settings. train.py prints mfu -100% until its 5th iteration (L324: `local_iter_num >= 5`), its own
warm-up; the MFU it prints is relative to an A100's bf16 peak, 312e12 FLOP/s, on any GPU
(model.py L301 `estimate_mfu`). Header lines: "tokens per iteration will be: N" (train.py L102) and
"number of parameters: 123.59M" (model.py L148, without the position embedding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from costmodel.calibrate import LogFormat, LogReading, Step, loss, number
from costmodel.errors import UserError

from costmodel_nanogpt import config, upstream
from costmodel_nanogpt.upstream import src

A100_BF16_PEAK = 312e12  # FLOP/s: model.py L301, flops_promised
WARMUP = 5  # train.py L324: MFU is measured from the 5th iteration on

_ITER = re.compile(r"\biter (?P<step>\d{1,15}): loss (?P<loss>\S+), time (?P<ms>\d+(?:\.\d*)?)ms, "
                   r"mfu (?P<mfu>-?\d+(?:\.\d*)?)%\s*$")
_ITER_START = re.compile(r"\biter \d+:")
_EVAL = re.compile(r"\bstep (?P<step>\d{1,15}): train loss \S+, val loss \S+\s*$")
_HEADERS = (
    ("tokens_per_iter", re.compile(r"tokens per iteration will be: (?P<v>[0-9,]+)"), 1.0),
    ("n_params_reported", re.compile(r"number of parameters: (?P<v>[0-9.]+)M"), 1e6),
)
_CONFIG_FILE = re.compile(r"^Overriding config with (?P<path>.+):\s*$")
_OVERRIDE = re.compile(r"^Overriding: (?P<key>\w+) = (?P<value>.*?)\s*$")
_META_VOCAB = re.compile(r"found vocab_size = (?P<v>\d+) \(inside")
# what ends a printed config file: the next line configurator.py or train.py prints
_AFTER_CONFIG = re.compile(r"^(Overriding|tokens per iteration will be:|found vocab_size|Initializing|"
                           r"Resuming|compiling the model|number of parameters:|step \d+:|iter \d+:)")
EVAL_SETTINGS = ("eval_interval", "eval_iters")  # train.py keys costmodel's time plugin reads as they are


def _settings(lines: Sequence[str], problems: list[tuple[int, str]]) -> dict:
    """The run's train.py settings the log prints, in costmodel's names."""
    raw: dict = {}
    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        m = _CONFIG_FILE.match(line)
        if m is not None:
            start = at
            while at < len(lines) and not _AFTER_CONFIG.match(lines[at]):
                at += 1
            try:
                raw.update(config.read_config_text("\n".join(lines[start:at]), f"log line {start}"))
            except UserError as exc:
                problems.append((start, f"printed config {m.group('path')} not read: {exc}"))
            continue
        m = _OVERRIDE.match(line)
        if m is not None:
            try:
                key, value = config.parse_override(f"--{m.group('key')}={m.group('value')}")
                raw[key] = value
            except UserError as exc:
                problems.append((at, f"override not read: {exc}"))
            continue
        m = _META_VOCAB.search(line)
        if m is not None:
            raw["meta_vocab_size"] = int(m.group("v"))
    try:
        settings = config.to_canonical({k: v for k, v in raw.items() if k != "meta_vocab_size"})
    except UserError as exc:
        problems.append((1, f"printed settings not used: {exc}"))
        settings = {}
    if "meta_vocab_size" in raw:  # the data set's own vocabulary, as train.py L144 found it
        settings["vocab_size"] = raw["meta_vocab_size"]
    settings.update({k: raw[k] for k in EVAL_SETTINGS if k in raw})
    return settings


def _eval_interval(eval_steps: list[int], settings: dict, evaluated: bool) -> int | None:
    gaps = sorted({b - a for a, b in zip(eval_steps, eval_steps[1:]) if b > a})
    if gaps:
        return gaps[0]
    if "eval_interval" in settings:
        return int(settings["eval_interval"])
    return int(upstream.TRAIN_DEFAULTS["eval_interval"]) if evaluated else None


def read(lines: Sequence[str]) -> LogReading:
    steps: list[Step] = []
    problems: list[tuple[int, str]] = []
    header: dict[str, float] = {}
    pending_eval: int | None = None
    eval_steps: list[int] = []
    for at, line in enumerate(lines, start=1):
        m = _EVAL.search(line)
        if m is not None:
            pending_eval = int(m.group("step"))
            eval_steps.append(pending_eval)
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
    settings = _settings(lines, problems) if steps else {}
    if eval_steps and "eval_iters" not in settings:  # evaluations ran at train.py's default size
        settings["eval_iters"] = upstream.TRAIN_DEFAULTS["eval_iters"]
    return LogReading(format="nanogpt", steps=tuple(steps), problems=tuple(problems), header=header,
                      warmup=WARMUP, mfu_peak=A100_BF16_PEAK, settings=settings,
                      eval_interval=_eval_interval(eval_steps, settings, bool(eval_steps)))


NANOGPT_LOG = LogFormat(
    name="nanogpt",
    doc="karpathy/nanoGPT train.py: 'iter N: loss L, time Tms, mfu M%'",
    source=src("train.py", "L265, L324-L327") + "; " + src("model.py", "L289-L303"),
    read=read,
)
