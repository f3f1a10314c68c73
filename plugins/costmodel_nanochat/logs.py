"""nanochat's training log, for `costmodel calibrate`: what scripts/base_train.py prints.

    step 00004/71680 (0.01%) | loss: 9.1 | lrm: 1.00 | dt: 1571.88ms | tok/sec: 83,385 | mfu: 50.92 | total time: 0.00m

Every version joins its fields with " | " (v0 base_train.py L293; head L567); head prints
`bf16_mfu`, relative to its own table of GPU peaks, and may add fields (epoch, eta, grad norm).
v0's `mfu` is relative to an H100's dense bf16 peak, 989e12 FLOP/s per GPU (base_train.py L289
`promised_flops_per_sec_h100`), on any GPU. Both leave the first 10 steps out of their total
training time (v0 L291, head L555: `if step > 10`). Header lines (v0 L92-L106, head L255-L413) state the total
batch size, the parameters and the FLOPs per token.

The run's settings: v0 prints `num_layers: 32` (L79), `Tokens / micro-batch / rank: 8 x 2048 = 16,384`
(L90), `Tokens / micro-batch: 131,072` (all ranks, L91: with the first, the GPU count) and `Total batch
size 524,288 => ...` (L92); its configurator prints every `--key=value` as `Overriding: key = value`
(nanochat/configurator.py L53). A log in v0's format (`mfu`, not head's `bf16_mfu`) is version v0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from costmodel.calibrate import LogFormat, LogReading, Step, loss, number

from .sources import head, v0

H100_BF16_PEAK = 989e12  # FLOP/s: v0's promised_flops_per_sec_h100
WARMUP = 10

_STEP_START = re.compile(r"\bstep (?P<step>\d{1,15})/(?P<total>\d{1,15}) \((?P<pct>[0-9.]+)%\)")
_FIELD = re.compile(r"^\s*(?P<key>[a-z0-9_/ ]+?):\s*(?P<value>.*?)\s*$")
_HEADERS = (
    ("tokens_per_iter", re.compile(r"Total batch size (?P<v>[0-9,]+) => gradient accumulation")),
    ("n_params", re.compile(r"Number of parameters: (?P<v>[0-9,]+)")),
    ("flops_per_token", re.compile(r"Estimated FLOPs per token: (?P<v>[0-9.eE+-]+)")),
)


def _step(line: str, start: re.Match) -> tuple[Step | None, str | None, str]:
    """A step line, or why it does not parse; and which MFU label it printed."""
    fields: dict[str, str] = {}
    for part in line[start.end():].split("|")[1:]:
        m = _FIELD.match(part)
        if m is None:
            if part.strip():
                return None, f"unreadable field {part.strip()[:30]!r}", ""
            continue
        fields[m.group("key").strip()] = m.group("value")
    if "total time" not in fields or not re.fullmatch(r"[0-9.]+m", fields["total time"]):
        return None, "cut off (no 'total time' at the end)", ""
    if "eta" in fields and not re.fullmatch(r"[0-9.]+m", fields["eta"]):
        return None, "cut off in 'eta'", ""
    dt = fields.get("dt", "")
    if not re.fullmatch(r"[0-9.]+ms", dt):
        return None, f"no step time (dt: {dt!r})", ""
    label = "bf16_mfu" if "bf16_mfu" in fields else "mfu"
    try:
        seconds = number(dt[:-2]) / 1000
        mfu = number(fields[label]) if label in fields else None
    except ValueError:
        return None, "a number does not parse", ""
    step = Step(line=0, step=int(start.group("step")), seconds=seconds, loss=loss(fields.get("loss", "")),
                mfu_printed=mfu, total=int(start.group("total")))
    return step, None, label


_LAYERS = re.compile(r"^num_layers: (?P<v>\d+)\s*$")
_RANK_TOKENS = re.compile(r"Tokens / micro-batch / rank: (?P<b>[0-9,]+) x (?P<t>[0-9,]+) =")
_WORLD_TOKENS = re.compile(r"^Tokens / micro-batch: (?P<v>[0-9,]+)\s*$")
_TOTAL_BATCH = re.compile(r"Total batch size (?P<v>[0-9,]+) =>")
_OVERRIDE = re.compile(r"^Overriding: (?P<key>\w+) = (?P<value>\S+)\s*$")
# base_train.py's command-line keys and costmodel's names for them
_KEYS = {"depth": "depth", "device_batch_size": "micro_batch", "max_seq_len": "seq_len",
         "total_batch_size": "total_batch_size", "target_param_data_ratio": "target_param_data_ratio"}


def _settings(lines: Sequence[str]) -> dict:
    """The run's size as the header prints it, in costmodel's names."""
    out: dict = {}
    world = None
    for line in lines:
        if (m := _LAYERS.match(line)) is not None:
            out["depth"] = int(m.group("v"))
        elif (m := _RANK_TOKENS.search(line)) is not None:
            out["micro_batch"], out["seq_len"] = int(number(m.group("b"))), int(number(m.group("t")))
        elif (m := _WORLD_TOKENS.match(line)) is not None:
            world = int(number(m.group("v")))
        elif (m := _TOTAL_BATCH.search(line)) is not None:
            out["total_batch_size"] = int(number(m.group("v")))
        elif (m := _OVERRIDE.match(line)) is not None and m.group("key") in _KEYS:
            try:
                out[_KEYS[m.group("key")]] = number(m.group("value"))
            except ValueError:
                continue
    if world and out.get("micro_batch") and out.get("seq_len"):
        ranks, left = divmod(world, out["micro_batch"] * out["seq_len"])
        if ranks and not left:
            out["n_gpus"] = ranks
    return {k: int(v) if float(v).is_integer() else v for k, v in out.items()}


def read(lines: Sequence[str]) -> LogReading:
    steps: list[Step] = []
    problems: list[tuple[int, str]] = []
    header: dict[str, float] = {}
    labels: set[str] = set()
    for at, line in enumerate(lines, start=1):
        start = _STEP_START.search(line)
        if start is not None:
            step, problem, label = _step(line, start)
            if step is None:
                problems.append((at, f"nanochat step line {problem}; skipped"))
            elif step.seconds <= 0:
                problems.append((at, "step time is 0; skipped"))
            else:
                steps.append(attrs.evolve(step, line=at))
                labels.add(label)
            continue
        for name, pattern in _HEADERS:
            h = pattern.search(line)
            if h is not None:
                try:
                    header[name] = number(h.group("v"))
                except ValueError:
                    problems.append((at, f"header line for {name} does not parse; ignored"))
    newer = "bf16_mfu" in labels  # head: relative to its own table of peaks, not a fixed one
    settings = _settings(lines) if steps else {}
    if steps and not newer:
        settings["version"] = "v0"
    return LogReading(format="nanochat" if newer else "nanochat-v0", steps=tuple(steps),
                      problems=tuple(problems), header=header, warmup=WARMUP,
                      mfu_peak=None if newer else H100_BF16_PEAK, settings=settings)


NANOCHAT_LOG = LogFormat(
    name="nanochat",
    doc="karpathy/nanochat scripts/base_train.py: 'step N/T (P%) | loss: L | ... | dt: Tms | ...'",
    source=v0("scripts/base_train.py", "289-293") + "; " + head("scripts/base_train.py", "555-567"),
    read=read,
)
