"""Invariants that must hold for every valid scenario, checked over random scenarios.

    python benchmarks/invariants.py                 # 10,000 scenarios (long: minutes per thousand)
    python benchmarks/invariants.py -n 500 --seed 7

Each scenario is a family preset, a card, a recipe (precision, optimizer, weights, checkpointing,
attention, parallelism), a micro-batch, a sequence length and a GPU count. For each one:
  finite       every result is finite and not negative
  fits         `fits` is 1 exactly when mem_peak <= gpu_memory_usable
  micro_batch  doubling the micro-batch never lowers mem_peak
  seq_len      doubling the sequence length never lowers mem_peak
  model_size   one more layer never lowers mem_peak
  checkpoint   checkpointing (selective, full) never raises mem_activations
  inverse      total_tokens solved from a wall_time gives that wall_time back, forward
  maximise     the largest micro_batch that fits fits, and the next integer does not
  more_gpus    doubling the GPUs never lowers tokens_per_second unless a warning says why
A scenario the model refuses with the project's own error (a family rule) is skipped; any other
exception is a violation. The script prints each violation and a count per invariant, and exits 1
if there is any. tests/test_invariants.py runs the same checks under hypothesis, bounded in time.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter

FAMILIES = {
    "nanogpt": ("gpt2", "gpt2-medium", "shakespeare-char"),
    "nanochat": ("d20", "d26", "d32"),
}
LAYERS = {"nanogpt": "n_layer", "nanochat": "depth"}
CARDS = ("rtx-4070", "rtx-4090", "a100-80gb-sxm", "h100-sxm", "l4", "mi300x")
RECIPE = {
    "precision": ("amp-bf16", "bf16", "fp32"),
    "optimizer": ("adamw", "adamw8bit", "muon", "sgd"),
    "weights": ("full", "lora", "int8", "nf4"),
    "checkpointing": ("none", "selective", "full"),
    "attention": ("flash", "eager"),
    "parallelism": ("ddp", "zero1", "zero2", "zero3"),
}
MICRO_BATCHES = (1, 2, 4, 8, 16, 32)
SEQ_LENS = (64, 256, 512, 1024, 2048)
GPUS = (1, 2, 4, 8)
REL = 1e-9  # comparisons allow rounding, nothing more


def random_scenario(pick) -> dict:
    """A scenario from `pick(name, options)` (random.choice, or hypothesis's draw)."""
    family = pick("family", sorted(FAMILIES))
    return {
        "family": family,
        "preset": pick("preset", FAMILIES[family]),
        "hardware": pick("hardware", CARDS),
        "values": {
            **{name: pick(name, options) for name, options in RECIPE.items()},
            "micro_batch": pick("micro_batch", MICRO_BATCHES),
            "seq_len": pick("seq_len", SEQ_LENS),
            "n_gpus": pick("n_gpus", GPUS),
        },
    }


def _estimate(s: dict, **changes):
    from costmodel import api

    return api.estimate(s["family"], preset=s["preset"], hardware=s["hardware"],
                        values={**s["values"], **changes})


def _numbers(result) -> dict:
    return {**result.input_numbers, **result.numbers}


def violations(s: dict) -> list[tuple[str, str]] | None:
    """(invariant, what went wrong) for one scenario; None when the model refuses the scenario."""
    from costmodel.errors import CostModelError

    try:
        base = _estimate(s)
    except CostModelError:
        return None  # a family rule refuses the scenario: nothing to check
    found: list[tuple[str, str]] = []
    for name, check in CHECKS:
        try:
            problem = check(s, base)
        except CostModelError as exc:
            problem = f"refused a variation of a valid scenario: {exc}" if name != "inverse" else None
        except Exception as exc:  # noqa: BLE001 - any other exception is a violation
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            found.append((name, problem))
    return found


def _finite(s, base):
    bad = [n for n, v in base.numbers.items() if not (math.isfinite(v) and v >= 0)]
    return f"not finite or negative: {', '.join(bad)}" if bad else None


def _fits(s, base):
    n = _numbers(base)
    if "fits" not in n:
        return None
    expected = n["mem_peak"] <= n["gpu_memory_usable"]
    return None if bool(n["fits"]) == expected else (
        f"fits = {n['fits']} but mem_peak {n['mem_peak']:.4g} vs usable {n['gpu_memory_usable']:.4g}")


def _grows(name, change):
    def check(s, base):
        before = base.numbers["mem_peak"]
        try:
            after = _estimate(s, **change(s, _numbers(base))).numbers["mem_peak"]
        except Exception as exc:  # a rule refusing the bigger scenario is not a violation
            from costmodel.errors import CostModelError

            if isinstance(exc, CostModelError):
                return None
            raise
        if after < before * (1 - REL):
            return f"mem_peak {before / 2**30:.3f} GiB -> {after / 2**30:.3f} GiB when {name} grows"
        return None

    return check


def _checkpointing(s, base):
    if s["values"]["checkpointing"] != "none":
        return None
    none = base.numbers.get("mem_activations")
    for mode in ("selective", "full"):
        other = _estimate(s, checkpointing=mode).numbers.get("mem_activations")
        if none is not None and other is not None and other > none * (1 + REL):
            return f"mem_activations {none:.4g} (none) < {other:.4g} ({mode})"
    return None


def _inverse(s, base):
    from costmodel import api

    wall = base.numbers.get("wall_time")
    if not wall:
        return None
    given = wall * 0.5
    r = api.solve(s["family"], preset=s["preset"], hardware=s["hardware"], find="total_tokens",
                  given={"wall_time": f"{given} s"}, values=s["values"])
    tokens = _numbers(r)["total_tokens"]
    forward = _estimate(s, total_tokens=tokens).numbers["wall_time"]
    if forward > given * (1 + 1e-6):
        return f"total_tokens {tokens:.6g} solved for wall_time {given:.6g} s gives {forward:.6g} s"
    return None


def _maximise(s, base):
    from costmodel import api
    from costmodel.errors import CostModelError

    values = {k: v for k, v in s["values"].items() if k != "micro_batch"}
    try:
        r = api.solve(s["family"], preset=s["preset"], hardware=s["hardware"], maximize="micro_batch",
                      subject_to=("mem_peak <= gpu_memory_usable",), values=values)
    except CostModelError:
        return None  # not even micro_batch 1 fits, or a rule has no feasible micro-batch
    best = int(round(_numbers(r)["micro_batch"]))
    # the answer keeps the tokens per step: its grad_accum (when an input) goes with it
    accum = int(round(r.input_numbers["grad_accum"])) if r.origins.get("grad_accum") == "user" else None

    def share(m: int) -> dict:
        return {"micro_batch": m, **({"grad_accum": best * accum // m} if accum else {})}

    at = _numbers(_estimate(s, **share(best)))
    if at["mem_peak"] > at["gpu_memory_usable"]:
        return f"maximised micro_batch {best} ({share(best)}) does not fit"
    per_gpu = best * (accum or 1)
    larger = [m for m in range(best + 1, per_gpu + 1) if per_gpu % m == 0] if accum else [best + 1]
    if not larger:
        return None  # no larger whole share of the step's batch: the answer stands
    try:
        nxt = _numbers(_estimate(s, **share(larger[0])))
    except CostModelError:
        return None  # the next integer breaks a family rule: the answer stands
    if nxt.get("tokens_per_iter") != at.get("tokens_per_iter"):
        return None  # the next integer is not a whole share of the step's batch: not a candidate
    if nxt["mem_peak"] <= nxt["gpu_memory_usable"]:
        return f"maximised micro_batch {best}, but {larger[0]} fits too"
    return None


def _more_gpus(s, base):
    n = s["values"]["n_gpus"]
    before = base.numbers.get("tokens_per_second")
    more = {"n_gpus": 2 * n}
    numbers = _numbers(base)
    if "gradient_accumulation_steps" in numbers:  # nanoGPT's is summed over GPUs: same work per GPU
        more["gradient_accumulation_steps"] = 2 * int(numbers["gradient_accumulation_steps"])
    from costmodel.errors import CostModelError

    try:
        after_result = _estimate(s, **more)
    except CostModelError:
        return None  # twice the GPUs break a family rule (nanochat's whole micro-steps): no such run
    after = after_result.numbers.get("tokens_per_second")
    if before is None or after is None or after >= before * (1 - REL):
        return None
    if any("communication" in w for w in after_result.warnings):
        return None  # the output says why
    return f"tokens_per_second {before:.4g} on {n} GPUs > {after:.4g} on {2 * n}, without a word"


CHECKS = [
    ("finite", _finite),
    ("fits", _fits),
    ("micro_batch", _grows("micro_batch", lambda s, n: {"micro_batch": 2 * s["values"]["micro_batch"]})),
    ("seq_len", _grows("seq_len", lambda s, n: {"seq_len": 2 * s["values"]["seq_len"]})),
    ("model_size", _grows("model size", lambda s, n: {LAYERS[s["family"]]: int(n[LAYERS[s["family"]]]) + 1})),
    ("checkpoint", _checkpointing),
    ("inverse", _inverse),
    ("maximise", _maximise),
    ("more_gpus", _more_gpus),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="scenarios (default 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    counts: Counter = Counter()
    checked = refused = 0
    for i in range(args.n):
        s = random_scenario(lambda name, options: rng.choice(options))
        found = violations(s)
        if found is None:
            refused += 1
            continue
        checked += 1
        for name, problem in found:
            counts[name] += 1
            if counts[name] <= 5:
                print(f"VIOLATION {name}: {s['family']} {s['preset']} on {s['hardware']} "
                      f"{s['values']}: {problem}")
        if (i + 1) % 100 == 0:
            print(f"  {i + 1} scenarios, {sum(counts.values())} violations", file=sys.stderr)
    print(f"{checked} scenarios checked ({refused} refused by a family rule), "
          f"{sum(counts.values())} violations"
          + ("".join(f"\n  {name}: {counts[name]}" for name, _ in CHECKS if counts[name])))
    return 1 if counts else 0


if __name__ == "__main__":
    sys.exit(main())
