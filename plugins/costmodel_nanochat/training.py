"""base_train's run arithmetic: batch size, gradient accumulation, training horizon; validity checks.

Horizon (both versions, in base_train's order of precedence): an explicit `--num-iterations`
(give `iters`), else `--target-flops` (give `model_flops`; the solver frees `iters`), else the
data:param ratio: num_iterations = target_tokens // total_batch_size.
"""

from __future__ import annotations

from costmodel.declarations import Check, Formula

from .sources import IS_HEAD, IS_V0, head, v0

GPT = "nanochat/gpt.py"
TRAIN = "scripts/base_train.py"

BATCH = (
    Formula(
        target="total_batch_size", expr="524288 * token",
        doc="2**19 tokens per optimizer step", source=v0(TRAIN, "39"), condition=IS_V0,
        overridable=True,
    ),
    Formula(
        target="batch_ref_model_dim",
        expr="ceil(12 * aspect_ratio / target_head_dim) * target_head_dim",
        doc="model_dim of the d12 reference model, built with the same knobs",
        source=head(TRAIN, "133-134, 272"), condition=IS_HEAD,
    ),
    Formula(
        target="batch_ref_n_params_scaling",
        expr="(12 * 12 * batch_ref_model_dim**2 + 6 * 12 * ceil(12 * aspect_ratio / target_head_dim)"
        " + vocab_size_padded * batch_ref_model_dim) * param",
        doc="scaling parameters of d12: 12 blocks of 12 d^2, six 12 -> n_head VE gates, lm_head",
        source=head(TRAIN, "263-268, 272-273"), condition=IS_HEAD,
    ),
    Formula(
        target="batch_ref_tokens",
        expr="target_param_data_ratio * batch_ref_n_params_scaling * token/param",
        doc="D_REF: the d12 horizon at the same ratio (batch 2**19 was tuned there)",
        source=head(TRAIN, "273"), condition=IS_HEAD,
    ),
    Formula(
        target="total_batch_size",
        expr="2**floor(log2(2**19 * (target_tokens / batch_ref_tokens)**0.383) + 1/2) * token",
        doc="Power Lines rule B_opt ~ D**0.383 from B = 2**19 at d12, rounded to a power of two",
        source=head(TRAIN, "279-283") + "; arXiv:2505.13738",
        assumptions=("Python's round() rounds halves to even, floor(x + 1/2) up: they differ only "
                     "when log2 lands exactly on k + 1/2",),
        condition=IS_HEAD, overridable=True,
    ),
    Formula(
        target="grad_accum", expr="total_batch_size / (micro_batch * seq_len * n_gpus)",
        doc="micro-steps per optimizer step on each rank (an exact division, see the check)",
        source=v0(TRAIN, "86-89") + "; " + head(TRAIN, "407-410"),
    ),
)

HORIZON = (
    Formula(
        target="target_param_data_ratio", expr="20", doc="Chinchilla's 20 tokens per parameter",
        source=v0(TRAIN, "36"), condition=IS_V0, overridable=True,
    ),
    Formula(
        target="target_param_data_ratio", expr="12",
        doc="tokens per scaling parameter from nanochat's own scaling laws (2026-03-24)",
        source=head(TRAIN, "58"), condition=IS_HEAD, overridable=True,
    ),
    Formula(
        target="target_tokens", expr="target_param_data_ratio * n_params_scaling * token/param",
        doc="target_param_data_ratio * num_params", source=v0(TRAIN, "118"), condition=IS_V0,
    ),
    Formula(
        target="target_tokens", expr="floor(target_param_data_ratio * n_params_scaling * token/param)",
        doc="int(target_param_data_ratio * num_scaling_params)", source=head(TRAIN, "269"),
        condition=IS_HEAD,
    ),
    Formula(
        target="iters", expr="floor(target_tokens / total_batch_size) * iteration",
        doc="num_iterations = target_tokens // total_batch_size (the data:param horizon)",
        source=v0(TRAIN, "116-119") + "; " + head(TRAIN, "348-350"), overridable=True,
    ),
)

CHECKS = (
    Check(
        expr="model_dim % n_head == 0",
        message="nanochat v0 asserts n_embd % n_head == 0: with model_dim = 64 * depth and "
        "n_head = ceil(model_dim / 128) an odd depth works only if depth + 1 divides 128 "
        "(1, 3, 7, 15, 31, 63, 127), e.g. d21 has model_dim 1344 and 11 heads",
        source=v0(GPT, "72"), condition=IS_V0,
    ),
    Check(
        expr="model_dim % n_head == 0", message="nanochat asserts n_embd % n_head == 0",
        source=head(GPT, "75"), condition=IS_HEAD,
    ),
    Check(
        expr="n_kv_head <= n_head and n_head % n_kv_head == 0",
        message="nanochat asserts n_kv_head <= n_head and n_head % n_kv_head == 0",
        source=v0(GPT, "73") + "; " + head(GPT, "76"),
    ),
    Check(
        expr="head_dim % 2 == 0",
        message="head_dim must be even: rotary embeddings rotate the two halves of each head "
        "(apply_rotary_emb), an odd head_dim fails with a shape mismatch",
        source=v0(GPT, "41-47, 206") + "; " + head(GPT, "57-65, 276"),
    ),
    Check(
        expr="head_dim % 8 == 0",
        message="Flash Attention 3 needs head_dim % 8 == 0 (base_train nudges model_dim so that "
        "head_dim == --head-dim exactly): choose a target_head_dim that is a multiple of 8",
        source=head(TRAIN, "131-134"), condition=f'{IS_HEAD} and attention == "flash"',
    ),
    Check(
        expr="model_dim >= 24",
        message="nanochat head's smear gate reads the first 24 channels of the embedding "
        "(Linear(24, 1) on x[..., :24]): model_dim must be at least 24",
        source=head(GPT, "185, 479"), condition=IS_HEAD,
    ),
    Check(
        expr="seq_len >= 2 * token/sequence",
        message="nanochat head asserts T > 1 in the training forward pass (the smear gate mixes "
        "in the previous token)",
        source=head(GPT, "478"), condition=IS_HEAD,
    ),
    Check(
        expr="n_gpus == 1 or vocab_size_padded % n_gpus == 0",
        message="nanochat's distributed AdamW reduce-scatters wte and lm_head by rows: the "
        "vocabulary (padded, at head) must split evenly over n_gpus",
        source=v0("nanochat/adamw.py", "30-33") + "; " + head("nanochat/optim.py", "288"),
    ),
    Check(
        expr="(total_batch_size / token) % (micro_batch * seq_len * n_gpus / token) == 0",
        message="base_train asserts total_batch_size % (micro_batch * seq_len * n_gpus) == 0: "
        "the batch must be a whole number of micro-steps on all ranks",
        source=v0(TRAIN, "88") + "; " + head(TRAIN, "409"),
    ),
)

FORMULAS = BATCH + HORIZON
