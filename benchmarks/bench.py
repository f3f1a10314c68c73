"""Performance figures of costmodel, each printed with its target and PASS or MISS.

    python benchmarks/bench.py            # about a minute
    python benchmarks/bench.py --quick    # fewer repetitions, a smaller grid

What is measured (see benchmarks/README.md):
  1. `costmodel --help`: wall time of a fresh process, best of 5            target < 0.25 s
  2. a cold `costmodel estimate nanogpt --preset gpt2 -H rtx-4070`: a fresh
     process, best of 3, with the registry's disk cache filled, with an
     empty cache folder (the first run after an install: the registry the
     package ships) and, for reference, with the cache off (a full build)  target < 1 s
  3. a warm inverse solve through the API (total_tokens given
     wall_time = 30 day), median of 50 after a first call                   target <= 20 ms
  4. sweep throughput: `costmodel.solver.sweep_numeric` over ~1e6 grid
     points of a scenario of >= 20 formulas, on one core                   target >= 1e6/s
  5. warm `costmodel.api.estimate` calls per second, the micro-batch
     changing from call to call, best of 5 runs of 2,000 calls              target >= 20,000/s
  6. `costmodel sweep` of 10^6 rows (micro_batch x seq_len, 1000 x 1000)
     to a file as table, CSV and JSON: wall and CPU time, peak memory      target < 5 s, < 500 MB

Where the nanoGPT family cannot answer a question yet, the toy family shipped next to this script
(benchmarks/toy.toml) stands in, and the output says so. This is a plain script: it asserts
nothing and always exits 0 unless it crashes.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

try:
    import resource
except ImportError:  # Windows
    resource = None

# One core for the in-process measurements: numpy's elementwise loops are single-threaded anyway,
# and this keeps a threaded BLAS (unused here) from muddying the figures. Set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
TOY = HERE / "toy.toml"
SWEEP = HERE / "sweep20.toml"
HARDWARE = "rtx-4070"

RESULTS: list[tuple[str, str, str, bool]] = []


def report(name: str, shown: str, target: str, ok: bool, note: str = "") -> None:
    RESULTS.append((name, shown, target, ok))
    verdict = "PASS" if ok else "MISS"
    print(f"  {name:<44} {shown:>14}   target {target:<15} {verdict}")
    if note:
        print(f"  {'':<4} {note}")


def script() -> list[str]:
    """The installed console script itself (a pyenv/asdf shim adds ~0.1-0.3 s of shell)."""
    beside = Path(sysconfig.get_path("scripts")) / "costmodel"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("costmodel")
    if found:
        return [found]
    return [sys.executable, "-c", "from costmodel.cli import run; run()"]


PYCACHE = tempfile.mkdtemp(prefix="costmodel-bench-pyc-")


def child_env(**extra: str) -> dict:
    """The environment of the measured processes. Bytecode goes to a private folder, so that the
    figures are those of an ordinary install (where every module has its .pyc) even where
    PYTHONDONTWRITEBYTECODE is set, without writing __pycache__ folders into the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    env.update(extra)
    return env


def wall(cmd: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one fresh process; its CPU time (user + system) rides along on `proc.cpu`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env or child_env())
    elapsed = time.perf_counter() - start
    if before is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, proc


def cpu_times(runs) -> list[float]:
    return [getattr(proc, "cpu", float("nan")) for _, proc in runs]


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# --- 1. --help ---------------------------------------------------------------------------------


def bench_help(reps: int) -> None:
    cmd = script() + ["--help"]
    wall(cmd)  # writes the bytecode; not counted
    runs = [wall(cmd) for _ in range(reps)]
    failed = [proc for _, proc in runs if proc.returncode != 0]
    if failed:
        report("costmodel --help", "failed", "< 0.25 s", False, failed[0].stderr.strip()[:200])
        return
    times = [t for t, _ in runs]
    report("costmodel --help", fmt_s(min(times)), "< 0.25 s", min(times) < 0.25,
           f"best of {reps}; median {fmt_s(statistics.median(times))}; "
           f"CPU {fmt_s(min(cpu_times(runs)))}; {' '.join(cmd)}")


# --- 2. cold estimate ----------------------------------------------------------------------------


def bench_cold_estimate(reps: int) -> None:
    """A fresh process each time, twice over: with the registry's disk cache (`costmodel.cache`)
    filled by a first run, which is every run but the first after an install or an edit, and
    with the cache off (`COSTMODEL_CACHE=0`), which is that first run."""
    cache_dir = tempfile.mkdtemp(prefix="costmodel-bench-cache-")
    env = child_env(COSTMODEL_CACHE_DIR=cache_dir)
    cmd = script() + ["estimate", "nanogpt", "--preset", "gpt2", "-H", HARDWARE]
    label, note = "cold estimate nanogpt gpt2", ""
    _, proc = wall(cmd, env)  # fills the disk cache and writes the bytecode; not counted
    if proc.returncode != 0:
        note = f"nanogpt not loadable ({proc.stderr.strip()[:120]}); measured the toy family instead"
        cmd = script() + ["estimate", "toy", "--plugin", str(TOY), "-H", HARDWARE]
        label = "cold estimate toy"
        _, proc = wall(cmd, env)
        if proc.returncode != 0:
            report(label, "failed", "< 1 s", False, proc.stderr.strip()[:200])
            return
    def empty_folder():
        shutil.rmtree(cache_dir, ignore_errors=True)
        return env

    kinds = (("disk cache filled", lambda: env, "< 1 s"), ("empty cache folder", empty_folder, "< 1 s"),
             ("cache off: a full build", lambda: {**env, "COSTMODEL_CACHE": "0"}, None))
    for kind, make_env, target in kinds:
        runs = [wall(cmd, make_env()) for _ in range(reps)]
        times = [t for t, _ in runs]
        best = min(times)
        extra = (f"best of {reps}; median {fmt_s(statistics.median(times))}; "
                 f"CPU {fmt_s(min(c for c in cpu_times(runs)))}")
        if target is None:
            print(f"  {label + ' (' + kind + ')':<44} {fmt_s(best):>14}   (for reference)\n  {'':<4} {extra}")
            continue
        report(f"{label} ({kind})", fmt_s(best), target, best < 1.0,
               f"{note}; {extra}" if note else extra)
    shutil.rmtree(cache_dir, ignore_errors=True)


# --- 3. warm inverse solve -----------------------------------------------------------------------


def bench_inverse(reps: int) -> None:
    from costmodel import api
    from costmodel.errors import CostModelError

    def question(family: str, plugins: tuple[str, ...], preset: str | None):
        return lambda: api.solve(family, preset=preset, hardware=HARDWARE, plugins=plugins,
                                 find="total_tokens", given={"wall_time": "30 day"})

    def answers(ask) -> bool:
        """The question is really answered: wall_time is computed and comes out as 30 days."""
        try:
            r = ask()
        except CostModelError:
            return False
        wall_time = r.results.get("wall_time")
        return wall_time is not None and abs(wall_time.m_as("day") - 30) < 0.01

    start = time.perf_counter()
    ask, label, note = question("nanogpt", (), "gpt2"), "warm solve nanogpt", ""
    if not answers(ask):
        ask, label = question("toy", (str(TOY),), None), "warm solve toy"
        note = "nanogpt cannot yet find total_tokens from wall_time; measured the toy family"
        if not answers(ask):
            report("warm solve", "failed", "<= 20 ms", False, "neither nanogpt nor toy answers")
            return
    first = time.perf_counter() - start
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        ask()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    extra = (f"find total_tokens given wall_time = 30 day; median of {reps} "
             f"(min {fmt_s(min(times))}); the first call, with loading and the symbolic "
             f"inverse, took {fmt_s(first)}")
    report(label, fmt_s(median), "<= 20 ms", median <= 0.020, f"{note}; {extra}" if note else extra)


# --- 4. sweep throughput -------------------------------------------------------------------------


def sweep_grid(points: int) -> dict:
    """Six inputs with the same number of values each, ~`points` combinations in all."""
    import numpy as np

    k = max(2, round(points ** (1 / 6)))
    return {
        "b_n_layer": np.arange(1, k + 1),
        "b_d_model": 128 * np.arange(1, k + 1),
        "micro_batch": np.arange(1, k + 1),
        "seq_len": 256 * np.arange(1, k + 1),
        "iters": np.linspace(1e3, 1e5, k),
        "mfu": np.linspace(0.1, 0.6, k),
    }


def bench_sweep(points: int, reps: int) -> None:
    from costmodel import api, solver

    scenario = api.scenario("bench20", hardware=HARDWARE, plugins=(str(SWEEP),))
    n_formulas = len(scenario.formulas)
    grid = sweep_grid(points)
    solver.sweep_numeric(scenario, {k: v[:2] for k, v in grid.items()})  # compile the closures
    times, size = [], 0
    for _ in range(reps):
        t0 = time.perf_counter()
        env, size = solver.sweep_numeric(scenario, grid)
        times.append(time.perf_counter() - t0)
        del env
    env, _ = solver.sweep_numeric(scenario, grid)
    varying = sum(
        1 for name in scenario.formulas
        if name in env and getattr(env[name], "strides", (0,))[0] != 0  # not a broadcast scalar
    )
    computed = sum(1 for name in scenario.formulas if name in env)
    del env
    rate = size / min(times)
    report("sweep throughput", f"{rate:,.0f}/s", ">= 1,000,000/s", rate >= 1e6,
           f"{size:,} points; bench20 scenario of {n_formulas} formulas, {computed} computed, "
           f"{varying} varying over the grid; best of {reps} ({fmt_s(min(times))}); "
           f"median {size / statistics.median(times):,.0f}/s")


# --- 5. warm api.estimate --------------------------------------------------------------------------


def bench_estimate_rate(calls: int, reps: int) -> None:
    """Calls per second of one shape of question, its numbers changing: each call parses the
    micro-batch, evaluates the shape's system and returns an `api.Result` (read lazily)."""
    from costmodel import api

    def run(read: bool = False) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(calls):
            r = api.estimate("nanogpt", preset="gpt2", hardware=HARDWARE, values={"micro_batch": 1 + i % 32})
            if read:
                r.results["mem_peak"]
        return time.perf_counter() - w0, time.process_time() - c0

    first = api.estimate("nanogpt", preset="gpt2", hardware=HARDWARE, values={"micro_batch": 3})
    check = api.estimate("nanogpt", preset="gpt2", hardware=HARDWARE, values={"micro_batch": 4})
    assert first.numbers["mem_peak"] != check.numbers["mem_peak"]  # the numbers do change
    runs = [run() for _ in range(reps)]
    rate = calls / min(w for w, _ in runs)
    cpu_rate = calls / min(c for _, c in runs)
    reading = [run(read=True) for _ in range(reps)]
    report("warm api.estimate", f"{rate:,.0f}/s", ">= 20,000/s", rate >= 20_000,
           f"nanogpt gpt2 on {HARDWARE}, micro_batch 1..32 changing; best of {reps} runs of {calls:,} "
           f"calls (wall); by CPU time {cpu_rate:,.0f}/s; each call reading results['mem_peak'] "
           f"(a pint Quantity) {calls / min(w for w, _ in reading):,.0f}/s")


# --- 6. sweeps through the CLI ---------------------------------------------------------------------


def bench_cli_sweep(side: int, reps: int) -> None:
    """`costmodel sweep` of side x side rows to a file, each format: best wall and CPU time of
    `reps` fresh processes, and the peak resident memory of the process (`wait4`)."""
    out_dir = tempfile.mkdtemp(prefix="costmodel-bench-sweep-")
    cache_dir = tempfile.mkdtemp(prefix="costmodel-bench-cache-")
    env = child_env(COSTMODEL_CACHE_DIR=cache_dir)
    rows = side * side
    for fmt in ("table", "csv", "json"):
        out = os.path.join(out_dir, f"sweep.{fmt}")
        cmd = script() + ["sweep", "nanogpt", "--preset", "gpt2", "-H", HARDWARE, "--grid", f"micro_batch=1..{side}",
                          "--grid", f"seq_len=1..{side}", "--target", "mem_peak", "--format", fmt,
                          "-o", out, "--force"]
        best = None
        for _ in range(reps):
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                report(f"sweep {rows:,} rows ({fmt})", "failed", "< 5 s", False, proc.stderr.read().decode()[:200])
                break
            figures = (elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
            best = figures if best is None or figures[0] < best[0] else best
        else:
            elapsed, cpu, rss = best
            size = os.path.getsize(out) / 2**20
            report(f"sweep {rows:,} rows ({fmt})", fmt_s(elapsed), "< 5 s, < 500 MB", elapsed < 5 and rss < 500,
                   f"CPU {fmt_s(cpu)}, peak RSS {rss:,.0f} MB, {size:,.0f} MB written; best of {reps}")
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(cache_dir, ignore_errors=True)


# --- main ----------------------------------------------------------------------------------------


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, 1e5 grid points")
    parser.add_argument("--points", type=float, default=None, help="sweep grid points (default 1e6)")
    args = parser.parse_args()
    quick = args.quick
    points = int(args.points or (1e5 if quick else 1e6))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"costmodel benchmarks: Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}")
    if load > (os.cpu_count() or 1) * 0.5:
        print("  (the machine is busy: figures are best-of or medians, but expect noise)")
    print()
    print("processes (wall time of the installed console script):")
    bench_help(3 if quick else 5)
    bench_cold_estimate(2 if quick else 3)
    bench_cli_sweep(300 if quick else 1000, 1 if quick else 2)
    print()
    print(f"in process ({pin_one_core()}):")
    bench_inverse(20 if quick else 50)
    bench_sweep(points, 3 if quick else 5)
    bench_estimate_rate(1000 if quick else 2000, 3 if quick else 5)
    print()
    shutil.rmtree(PYCACHE, ignore_errors=True)
    missed = [name for name, _, _, ok in RESULTS if not ok]
    print(f"{len(RESULTS) - len(missed)} of {len(RESULTS)} targets met"
          + (f"; missed: {', '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    main()
