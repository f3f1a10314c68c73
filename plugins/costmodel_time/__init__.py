"""Throughput, wall-clock time, energy and cost of a training run, for every family.

A built-in plugin loaded through the `costmodel` entry point (`time`). Its formulas are generic:
they apply to any family that provides `flops_per_token`, `tokens_per_iter`, `micro_batch`,
`seq_len`, `d_model`, `n_params` and `iters`, on any card of the catalogue.

- throughput.py: peak FLOP/s by precision, gradient all-reduce, step time, MFU/HFU, wall time and
  its overheads (compilation, evaluation, checkpoints);
- efficiency.py: the default efficiency model (the utilisation a step reaches), fitted once to
  published runs;
- energy.py: power, energy, electricity and rental cost, other currencies;
- prices.py: a node's hourly price shared by its GPUs.

Every formula and its source: docs/time.md.
"""

from __future__ import annotations

from costmodel import hookimpl
from costmodel_time import efficiency, energy, prices, throughput
from costmodel_time.quantities import QUANTITIES


@hookimpl
def register_quantities(register):
    for q in (*QUANTITIES, *prices.QUANTITIES):
        register(q)


@hookimpl
def register_recipes(register):
    for r in energy.RECIPES:
        register(r)


@hookimpl
def register_formulas(register):
    for f in (*throughput.FORMULAS, *efficiency.FORMULAS, *energy.FORMULAS, *prices.FORMULAS):
        register(f)
