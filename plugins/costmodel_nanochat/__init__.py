"""nanochat (karpathy/nanochat): a GPT whose every size follows from one dial, `--depth`.

Two versions, each the code of one upstream commit (see `sources.py`):
  v0    fae3aca9519a (Oct 2025): the release; run1000.sh trained the published d32 with it.
  head  92d63d4e8bb4 (Jul 2026): value embeddings, sliding windows, per-layer lambdas, smear and
        backout, vocabulary padded to 64, a data:param ratio over "scaling" parameters and an
        automatic total batch size.

Modules: quantities (names), architecture (shapes, parameter counts, optimizer groups), compute
(FLOPs per token), training (batch, horizon, checks), memory (the features that differ between
versions, and head's tensors outside the blocks that no other family has). The derivations are in
docs/families/nanochat.md.
"""

from __future__ import annotations

from costmodel import hookimpl
from costmodel.declarations import Family

from . import architecture, compute, memory, training
from .args import KEYS, load_args
from .quantities import QUANTITIES
from .sources import HEAD, V0, head, v0

TRAIN = "scripts/base_train.py"

# Defaults are base_train's for one process (`python -m scripts.base_train`); the published runs
# (torchrun on one 8-GPU node) are the run presets below.
DEFAULTS = {
    "version": "head",
    "depth": 20,            # --depth default; the $100 speedrun model of v0
    "aspect_ratio": 64,     # model_dim = 64 * depth (hard-coded in v0, --aspect-ratio at head)
    "target_head_dim": 128,  # heads of 128 channels (hard-coded in v0, --head-dim at head)
    "window_pattern": "SSSL",  # head: three short-window layers, then one full; ignored by v0
    "seq_len": 2048,        # --max-seq-len
    "micro_batch": 32,      # --device-batch-size (lower it until it fits in memory)
    "precision": "amp-bf16",  # v0: autocast to bf16; head: bf16 compute over fp32 master weights
    "attention": "flash",   # v0: SDPA (flash backend); head: Flash Attention 3
    "compile": True,        # torch.compile(model, dynamic=False)
    "optimizer": "muon",    # Muon for the block matrices, AdamW for embeddings, lm_head, scalars
    # architecture features (docs/plugins.md), the same in both versions (gpt.py of each)
    "mlp": "relu2",         # c_fc d->4d, relu(x).square(), c_proj 4d->d
    "norm": "rmsnorm",      # F.rms_norm without weights
    "norm_weight": False,
    "positions": "rotary",  # cos/sin tables precomputed for 10 x seq_len positions
    "tied_embeddings": False,
    "qk_norm": True,        # q, k = norm(q), norm(k) after rotary
    "embed_norm": True,     # x = norm(wte(idx))
    "logit_softcap": True,  # 15 * tanh(logits / 15)
    "logits_fp32": True,    # logits.float() before the loss
    "ddp_buckets": False,   # no DDP: the optimizers reduce the gradients themselves
    "sharded_optimizer": True,  # DistMuon/DistAdamW (v0), MuonAdamW (head) shard when distributed
    # the software every release runs with: uv.lock pins torch 2.8.0 (v0) and 2.9.1 (head), whose
    # autocast leaves rms_norm in bf16 (fp32 only since torch 2.12); base_train.py sets
    # PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (v0 L12, head L15 as PYTORCH_ALLOC_CONF)
    "autocast_rms_norm_fp32": False,
    "expandable_segments": True,
}

# Model sizes people train; the rest of each run follows from the version's rules. Device batch
# sizes are the published scripts' choices for 80 GB GPUs. A size that names a published model
# carries the version it was published with (give `--set version=head` for today's code).
PRESETS = {
    "d20": {"depth": 20, "version": "v0"},      # speedrun.sh, the $100 tier (561M params in v0)
    "d21": {"depth": 21},                       # head only: v0 rejects odd depths like 21
    "d24": {"depth": 24, "micro_batch": 16},    # head's speedrun.sh (it also sets ratio 8, fp8)
    "d26": {"depth": 26, "micro_batch": 16},    # README: the ~$300 GPT-2 grade model
    "d32": {"depth": 32, "micro_batch": 8, "version": "v0"},  # run1000.sh: the 1.88B model of nanochat.karpathy.ai
}
# Run presets: the published runs with everything they used, card and count included.
# speedrun.sh and run1000.sh @fae3aca9519a: `torchrun --standalone --nproc_per_node=8 -m
# scripts.base_train -- --depth=20` (resp. `--depth=32 --device_batch_size=8`) on an 8XH100 node.
PRESETS["speedrun"] = {**PRESETS["d20"], "n_gpus": 8, "hardware": "h100-sxm"}
PRESETS["run1000"] = {**PRESETS["d32"], "n_gpus": 8, "hardware": "h100-sxm"}

NANOCHAT = Family(
    name="nanochat",
    doc="karpathy/nanochat GPT (rotary, QK norm, relu^2 MLP, untied head, Muon + AdamW); "
    f"version v0 = {V0}, head = {HEAD}",
    source=v0("nanochat/gpt.py", "1-12") + "; " + head("nanochat/gpt.py", "1-13"),
    quantities=QUANTITIES + memory.QUANTITIES,
    defaults=DEFAULTS,
    presets=PRESETS,
    formulas=architecture.FORMULAS + compute.FORMULAS + training.FORMULAS + memory.FORMULAS,
    checks=training.CHECKS,
    config_loader=load_args,
    config_keys=KEYS,
    free_order=("iters", "depth"),
)


@hookimpl
def register_families(register):
    """nanochat, both versions in one family (choose with `version`)."""
    register(NANOCHAT)


@hookimpl
def register_log_formats(register):
    """base_train.py's log, every version, for `costmodel calibrate` (costmodel_nanochat.logs)."""
    from .logs import NANOCHAT_LOG

    register(NANOCHAT_LOG)
