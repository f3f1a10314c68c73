"""The memory model: what one GPU must hold at the peak of a training step, for any family.

Generic formulas over the shared names (n_layer, d_model, n_head, head_dim, vocab_size,
micro_batch, seq_len, n_gpus, grad_accum), the parameter groups, the architecture features and
recipes. A family refines one by a formula of its own for the same target:

  precision      (core)  element sizes: compute dtype, master dtype, 16-bit weight copies
  features       (core)  what the model is made of (mlp, norm, positions, tied_embeddings, ...):
                         the only thing the formulas know of a family (docs/plugins.md)
  attention      (core)  flash keeps a logsumexp, eager the T x T softmax (and its cast)
  checkpointing  (core)  none / selective (attention recomputed) / full (block inputs only)
  compile        (core)  inductor fuses the loss: the fp32 log-softmax disappears
  optimizer      (here)  adamw, adamw8bit (bitsandbytes), muon (nanochat's grouping), sgd
  weights        (here)  full, or a frozen 16-bit / int8 / NF4 base with LoRA adapters
  parallelism    (here)  ddp, zero1, zero2, zero3 across n_gpus

Modules: weights (precision, parameter groups, weights and gradients), activations, logits,
optimizer, peak (parallelism, overhead, the five moments of the peak). The derivations, the
measurements they were checked against and the users' examples are in docs/memory.md.
"""

from __future__ import annotations

from costmodel import hookimpl

from . import activations, finetune, logits, offload, optimizer, peak, weights
from .quantities import QUANTITIES, RECIPES

FORMULAS = (weights.FORMULAS + finetune.FORMULAS + activations.FORMULAS + logits.FORMULAS + optimizer.FORMULAS
            + peak.FORMULAS + offload.FORMULAS)


@hookimpl
def register_quantities(register):
    """The memory model's own names (byte sizes, groups, moments, fits)."""
    for q in QUANTITIES + offload.QUANTITIES:
        register(q)


@hookimpl
def register_recipes(register):
    """optimizer, weights, lora_targets, parallelism, offload."""
    for r in RECIPES + offload.RECIPES:
        register(r)


@hookimpl
def register_formulas(register):
    """Every memory formula; conditions pick the ones of the chosen recipes."""
    for f in FORMULAS:
        register(f)
