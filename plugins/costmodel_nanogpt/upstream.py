"""What nanoGPT itself says, at one pinned commit: train.py's defaults and the GPT-2 checkpoints.

Every number here was read from karpathy/nanoGPT at COMMIT; the comment next to it says where.
Nothing is imported from nanoGPT and no code of it is copied: these are facts, restated.
"""

from __future__ import annotations

REPO = "karpathy/nanoGPT"
COMMIT = "3adf61e154c3"  # 3adf61e154c3fe3fca428ad6bc3818b27a3b8291, 2025-11-12, the last commit


def src(path: str, lines: str) -> str:
    """A citation in the project's form: `karpathy/nanoGPT model.py@3adf61e154c3 L296`."""
    return f"{REPO} {path}@{COMMIT} {lines}"


# --- train.py's configuration keys and defaults (train.py L35-L74) ----------------------------
# train.py turns every top-level global of type int/float/bool/str defined above L76 into a config
# key (L76); configurator.py may then replace them (L77). These are all of them, in file order.
TRAIN_DEFAULTS: dict[str, int | float | bool | str] = {
    # I/O
    "out_dir": "out",
    "eval_interval": 2000,
    "log_interval": 1,
    "eval_iters": 200,
    "eval_only": False,
    "always_save_checkpoint": True,
    "init_from": "scratch",  # 'scratch', 'resume' or 'gpt2*'
    # wandb logging
    "wandb_log": False,
    "wandb_project": "owt",
    "wandb_run_name": "gpt2",
    # data
    "dataset": "openwebtext",
    "gradient_accumulation_steps": 5 * 8,  # summed over GPUs: each runs 40 / world_size (L94-L95)
    "batch_size": 12,  # the micro-batch, per GPU
    "block_size": 1024,
    # model
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "dropout": 0.0,
    "bias": False,  # train.py's default; model.py's GPTConfig says True (model.py L116)
    # adamw optimizer
    "learning_rate": 6e-4,
    "max_iters": 600000,
    "weight_decay": 1e-1,
    "beta1": 0.9,
    "beta2": 0.95,
    "grad_clip": 1.0,
    # learning rate decay settings
    "decay_lr": True,
    "warmup_iters": 2000,
    "lr_decay_iters": 600000,
    "min_lr": 6e-5,
    # DDP settings
    "backend": "nccl",
    # system
    "device": "cuda",
    "dtype": "bfloat16",  # L73: 'bfloat16' where the GPU supports it, else 'float16'; we assume so
    "compile": True,
}

# The keys that change what a run costs, and so are read by the config loader. Every other key
# (learning rates, logging, wandb, checkpoint policy) leaves FLOPs, memory and time alone as far as
# this model goes, a value nanoGPT would compute at run time is skipped for them, and the loader
# lists them as ignored. eval_interval / eval_iters cost time (2 * eval_iters forward passes every
# eval_interval steps, train.py L263-L265); dropout stores masks (model.py L38-L39, L80, L96).
COST_KEYS = frozenset(
    {
        "init_from",
        "dataset",
        "gradient_accumulation_steps",
        "batch_size",
        "block_size",
        "n_layer",
        "n_head",
        "n_embd",
        "bias",
        "max_iters",
        "device",
        "dtype",
        "compile",
        "eval_interval",
        "eval_iters",
        "dropout",
    }
)

# --- vocab size (train.py L137-L155) ---------------------------------------------------------
# From scratch, train.py takes vocab_size from data/<dataset>/meta.pkl when that file exists, else
# 50304: GPT-2's 50257 BPE tokens padded up to a multiple of 64 (model.py L111, train.py L154-L155).
# Only the character-level dataset writes a meta.pkl; its vocabulary is the 65 distinct characters
# of tiny shakespeare (data/shakespeare_char/prepare.py L24-L25; L66 records "vocab size: 65").
# openwebtext and shakespeare are GPT-2 BPE token files without a meta.pkl.
PADDED_GPT2_VOCAB = 50304  # 50257 rounded up to a multiple of 64
GPT2_VOCAB = 50257  # the BPE vocabulary of the OpenAI checkpoints (model.py L223)
META_VOCAB = {"shakespeare_char": 65}
BPE_DATASETS = frozenset({"openwebtext", "shakespeare"})

# --- the OpenAI GPT-2 checkpoints (model.py L216-L225) -----------------------------------------
# from_pretrained fixes the shape per checkpoint and forces vocab 50257, block 1024 and bias on.
GPT2_CHECKPOINTS: dict[str, dict[str, int]] = {
    "gpt2": {"n_layer": 12, "n_head": 12, "n_embd": 768},  # 124M
    "gpt2-medium": {"n_layer": 24, "n_head": 16, "n_embd": 1024},  # 350M
    "gpt2-large": {"n_layer": 36, "n_head": 20, "n_embd": 1280},  # 774M
    "gpt2-xl": {"n_layer": 48, "n_head": 25, "n_embd": 1600},  # 1558M
}
GPT2_BLOCK_SIZE = 1024  # model.py L224
GPT2_BIAS = True  # model.py L225

# --- precision (train.py L109-L112) --------------------------------------------------------------
# On a device whose name does not contain 'cuda' (cpu, mps) train.py runs without autocast: fp32.
DTYPE_PRECISION = {"bfloat16": "amp-bf16", "float16": "amp-fp16", "float32": "fp32"}
