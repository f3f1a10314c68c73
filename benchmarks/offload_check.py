"""Measured check of the CPU side of ZeRO-Offload's step time (plugins/costmodel_memory/offload.py).

    python benchmarks/offload_check.py            # about half a minute
    python benchmarks/offload_check.py --quick

The model says DeepSpeed's CPU Adam is bound by host memory bandwidth: one pass that reads the fp32
master weight, the gradient and both moments and writes weight and moments back, 28 bytes per
parameter, at `host_memory_bandwidth`. This script measures that claim on the machine it runs on,
on one core, without any GPU:

- the gauge: the bandwidth of a one-pass in-place stream of the same kind (`a.addcmul_(b, c)`:
  reads three fp32 arrays, writes one back, 16 bytes per element);
- PyTorch's fused CPU AdamW (`torch.optim.AdamW(fused=True)`: one vectorised pass per parameter
  tensor, the structure of DeepSpeed's `Step_AVX`), timed on the same arrays size;
- measured / predicted = step time / (28 bytes x n / the gauge's bandwidth): 1 when the update is
  memory-bound at 28 bytes per parameter, as the model has it;
- the unfused, per-parameter AdamW (`foreach=False`) against the fused one: DeepSpeed's tutorial
  (deepspeed.ai/tutorials/zero-offload) calls DeepSpeedCPUAdam "5X-7X faster than the standard
  PyTorch implementation", which is what a one-pass update against a many-pass one gives.

Gauge and step are measured in alternation, best of two each round, median over the rounds, so a
busy machine slows both alike. A plain script: it prints, asserts nothing, and exits 0. The host
link's share (2 x the weight dtype per parameter over PCIe) needs a GPU and is not measured here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _best(fn, k: int = 2) -> float:
    times = []
    for _ in range(k):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--params", type=float, default=8e6, help="parameters updated per step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n = int(args.params)
    rounds = 5 if args.quick else 15
    weight = torch.nn.Parameter(torch.randn(n))
    weight.grad = torch.randn(n)
    fused = torch.optim.AdamW([weight], lr=1e-3, fused=True)
    plain = torch.optim.AdamW([weight], lr=1e-3, foreach=False)
    fused.step()
    plain.step()
    a, b, c = torch.randn(n), torch.randn(n), torch.randn(n)
    ratios, speedups, bandwidths = [], [], []
    for _ in range(rounds):
        gauge = _best(lambda: a.addcmul_(b, c, value=1e-9))
        step = _best(fused.step)
        slow = _best(plain.step)
        bandwidth = 16 * n / gauge
        bandwidths.append(bandwidth)
        ratios.append(step / (28 * n / bandwidth))
        speedups.append(slow / step)
    print(f"CPU Adam update, {n:,} fp32 parameters, one core, median of {rounds} rounds")
    print(f"  streaming bandwidth (in-place addcmul, 16 B/element)   {statistics.median(bandwidths) / 1e9:8.2f} GB/s")
    print(f"  fused AdamW step: measured / predicted (28 B/param)    {statistics.median(ratios):8.2f}"
          f"   (range {min(ratios):.2f}-{max(ratios):.2f}; 1 = memory-bound at 28 B/param)")
    print(f"  unfused / fused AdamW step time                        {statistics.median(speedups):8.2f}"
          "   (DeepSpeed's tutorial: CPU Adam 5-7x faster than PyTorch's)")


if __name__ == "__main__":
    main()
