"""Performance of the recipe search and of repeated questions, each with its target, PASS or MISS.

    python benchmarks/plan_bench.py            # about half a minute
    python benchmarks/plan_bench.py --quick    # fewer repetitions

Figures (issue 11, item 5):
- search throughput (CPU time of the process, which a busy machine does not inflate; the wall
  time is printed beside it): `costmodel.search.search` over a nanochat d20 scenario, the grid of the
  issue: micro-batch 1-64 x accumulation (nanochat keeps 2^19 tokens per step: the accumulation
  follows from the micro-batch and the GPU count, and only the seven powers of two from 1 to 64
  make it a whole number) x 3 checkpointing x 4 optimizers x 3 precisions x 2 compile x
  4 parallelism x GPU counts 1-64 x 10 cards = 1,290,240 candidates; best of N on one core:
  target >= 10^6 candidates in <= 2 s (the first search of a process, which composes every
  group's scenario, is printed beside it). `--free-batch` adds four batch sizes (2^17-2^20 tokens):
  5,160,960 candidates, reported as a rate;
- the memory that search adds (peak resident set growth): bounded by the chunk size, not the grid;
- a grid beyond the bound (10^10 points): refused at once with a clear message;
- warm `costmodel.api.estimate`: the same question shape with the micro-batch changing, calls per
  second: target >= 20,000;
- the two plan commands users run most, each a new process (wall time and the process's CPU time;
  on an idle core they are the same): `costmodel plan nanochat --preset d20 -H all --tokens 11.2e9
  --deadline "24 h" --by cost` (27 cards, 4,992 groups): target < 5 s; the first plan search of a
  process, `costmodel plan nanochat --preset d32 -H rtx-4070`: target < 2.5 s. `--straightforward`
  runs them with every memo off too (costmodel.memo), the reference their answers must equal;
- `--phases`: where the time of the -H all plan goes (composing, each group's structure and
  set-up, evaluating and ranking its grid), each as a share of the plan under cProfile.

A plain script: it prints, asserts nothing, and exits 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    import resource
except ImportError:  # Windows
    resource = None

CARDS = ["rtx-3090", "rtx-4070", "rtx-4090", "l4", "l40s", "a100-40gb-sxm", "a100-80gb-sxm", "h100-sxm",
         "h200-sxm", "mi300x"]
SCENARIO = {"family": "nanochat", "preset": "d20", "values": {"version": "v0"}}
SPACE = {
    "checkpointing": ["none", "selective", "full"],
    "optimizer": ["adamw", "adamw8bit", "muon", "sgd"],
    "precision": ["amp-bf16", "amp-fp16", "bf16"],
    "compile": [False, True],
    "parallelism": ["ddp", "zero1", "zero2", "zero3"],
    "micro_batch": [1, 2, 4, 8, 16, 32, 64],
    "n_gpus": list(range(1, 65)),
}
FREE_BATCH = {"total_batch_size": [2**17, 2**18, 2**19, 2**20]}


def report(name: str, shown: str, target: str, ok: bool) -> None:
    print(f"  {name:<46} {shown:>16}   target {target:<16} {'PASS' if ok else 'MISS'}")


def rss_mib() -> float:
    if resource is None:
        return float("nan")
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def bench_search(reps: int, free_batch: bool) -> None:
    from costmodel.search import search

    space = {**SPACE, **FREE_BATCH} if free_batch else SPACE
    kwargs = dict(objective="wall_time", constraints=["mem_peak <= gpu_memory_usable"], cards=CARDS,
                  report=["mem_peak"])
    search(SCENARIO, {k: v[:1] for k, v in SPACE.items()}, **kwargs)  # load the registry
    before = rss_mib()
    times, cpu = [], []
    for _ in range(reps):
        started = time.process_time()
        found = search(SCENARIO, space, **kwargs)
        cpu.append(time.process_time() - started)
        times.append(found.seconds)
    best = min(cpu)
    n = found.candidates
    report("search: candidates", f"{n:,}", ">= 1,000,000", n >= 1_000_000)
    report("search: CPU seconds, one core (best of %d)" % reps, f"{best:.2f} s", "<= 2 s", best <= 2.0)
    print(f"    (wall time {min(times):.2f} s: on a shared machine it includes waiting for the core)")
    print(f"    (the first search of the process: {cpu[0]:.2f} s CPU, most of the difference composing the "
          f"groups' scenarios, which the next searches of the same request reuse)")
    report("search: candidates per second", f"{n / best:,.0f}", ">= 500,000/s", n / best >= 500_000)
    print(f"    ({found.evaluated:,} evaluated in full, the rest pruned; {found.feasible:,} feasible; "
          f"winner {found.best.choices} {found.best.numbers})")
    growth = rss_mib() - before
    report("search: peak memory growth", f"{growth:.0f} MiB", "< 500 MiB", growth < 500)


def bench_refusal() -> None:
    from costmodel.errors import UserError
    from costmodel.search import search

    space = {**SPACE, "micro_batch": list(range(1, 1001)), "n_gpus": list(range(1, 1001))}
    started = time.perf_counter()
    try:
        search(SCENARIO, space, objective="wall_time", cards=CARDS)
        message = "not refused"
    except UserError as exc:
        message = str(exc)
    took = time.perf_counter() - started
    report("refusal of a 10^10-point grid", f"{took * 1e3:.0f} ms", "< 1 s, refused",
           took < 1.0 and message.startswith("the search space has"))
    print(f"    ({message})")


def bench_estimate(seconds: float) -> None:
    from costmodel import api

    for family, preset, card, batches in (("nanochat", "d20", "h100-sxm", [1, 2, 4, 8, 16, 32]),
                                          ("nanogpt", "gpt2", "rtx-4070", [1, 2, 3, 4, 6, 8, 12])):
        for b in batches:
            api.estimate(family, preset=preset, hardware=card, values={"micro_batch": b})
        calls, started, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            for b in batches:
                api.estimate(family, preset=preset, hardware=card, values={"micro_batch": b})
            calls += len(batches)
        rate = calls / (time.process_time() - cpu)  # per CPU second: a busy machine does not inflate it
        report(f"warm api.estimate, {family} {preset}", f"{rate:,.0f}/s", ">= 20,000/s", rate >= 20_000)


COMMANDS = (
    ("plan -H all, deadline by cost", ["plan", "nanochat", "--preset", "d20", "-H", "all", "--tokens", "11.2e9",
                                       "--deadline", "24 h", "--by", "cost"], 5.0),
    ("plan d32 on one RTX 4070 (first search)", ["plan", "nanochat", "--preset", "d32", "-H", "rtx-4070"], 2.5),
)
RUN_CLI = ("import contextlib, sys; from costmodel import memo; from costmodel.cli import run\n"
           "off = sys.argv.pop(1) == 'off'; sys.argv[0] = 'costmodel'\n"
           "with memo.straightforward() if off else contextlib.nullcontext(): run()")


def bench_commands(reps: int, straightforward: bool) -> None:
    for name, args, target in COMMANDS:
        for mode in ("on", "off") if straightforward else ("on",):
            walls, cpus = [], []
            for _ in range(reps):
                before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", RUN_CLI, mode, *args], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                walls.append(time.perf_counter() - started)
                if resource:
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            wall, cpu = min(walls), min(cpus) if cpus else float("nan")
            label = name if mode == "on" else f"{name}, memos off"
            report(label, f"{wall:.2f} s", f"< {target:g} s wall" if mode == "on" else "(reference)", wall < target)
            print(f"    (CPU {cpu:.2f} s; best of {reps}; a busy machine makes the wall time longer)")


PHASES = (  # (what, file, function): where the time of a plan goes
    ("composing the groups' scenarios", "costmodel/search.py", "_compose"),
    ("a group's structure (formulas needed, order)", "costmodel/search_structure.py", "_structure"),
    ("a group's set-up, structure included", "costmodel/search_group.py", "__init__"),
    ("evaluating and ranking a group's grid", "costmodel/search_group.py", "run"),
    ("the search", "costmodel/search.py", "search"),
)


def bench_phases() -> None:
    """The -H all plan in this process under cProfile: each phase's share of the plan (the
    profiler slows Python calls, so shares, not seconds, are the figure to compare)."""
    import cProfile
    import pstats

    from costmodel import api
    from costmodel.planner import Goal, plan

    api.registry(())
    profile = cProfile.Profile()
    profile.enable()
    plan(family="nanochat", preset="d20", hardware="all",
         goal=Goal(kind="deadline", tokens=11.2e9, deadline=24 * 3600.0, by="cost"))
    profile.disable()
    stats = pstats.Stats(profile).stats  # (file, line, function) -> (calls, calls, own, cumulative, callers)

    def spent(file: str, function: str) -> tuple[float, int]:
        found = [v for (f, _, name), v in stats.items() if f.replace(os.sep, "/").endswith(file) and name == function]
        return sum(v[3] for v in found), sum(v[1] for v in found)

    whole, _ = spent("costmodel/planner.py", "plan")
    print("  where the time of `plan -H all` goes (cProfile, share of the plan):")
    for label, file, function in PHASES:
        seconds, calls = spent(file, function)
        print(f"    {label:<46} {100 * seconds / whole:5.1f} %   ({calls:,} calls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--free-batch", action="store_true", help="four batch sizes too (5.2M candidates)")
    parser.add_argument("--straightforward", action="store_true", help="the plan commands with every memo off too")
    parser.add_argument("--phases", action="store_true", help="only where the time of the -H all plan goes")
    args = parser.parse_args()
    if args.phases:
        bench_phases()
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print("costmodel plan benchmarks (one core)")
    bench_search(2 if args.quick else 3, args.free_batch)  # the first search composes: at least two
    bench_refusal()
    bench_estimate(0.5 if args.quick else 2.0)
    bench_commands(1 if args.quick else 2, args.straightforward)


if __name__ == "__main__":
    main()
