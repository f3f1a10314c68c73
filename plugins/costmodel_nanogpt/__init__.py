"""The nanoGPT model family: karpathy/nanoGPT's GPT, trained by its train.py.

Read top to bottom: the defaults and presets (train.py's numbers, commented), the family's own
quantities, the formulas with their sources, the checks, and the one registration hook.
Every source is karpathy/nanoGPT at commit 3adf61e154c3 (upstream.COMMIT). The derivations and
conventions are written out in docs/families/nanogpt.md; the formulas are checked against a PyTorch
model of the same architecture in tests/validation/test_nanogpt_reference.py.

The model (model.py L18-L193), with d = n_embd, L = n_layer, V = vocab_size, T = block_size:
    wte [V, d] tied to lm_head, wpe [T, d]
    L blocks: ln_1, c_attn d->3d, causal attention, c_proj d->d; ln_2, c_fc d->4d, GELU, c_proj 4d->d
    ln_f, lm_head d->V (bias-free; its weight is wte's)
`bias` puts a bias in every Linear (except lm_head) and LayerNorm.
"""

from __future__ import annotations

from costmodel import hookimpl
from costmodel.declarations import Check, Family, Formula, Quantity

from costmodel_nanogpt import upstream
from costmodel_nanogpt.config import load_config
from costmodel_nanogpt.upstream import src

# --- defaults: train.py's, for a GPT-2 (124M) from scratch on OpenWebText (train.py L35-L74) ---
DEFAULTS = {
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "vocab_size": 50304,  # no meta.pkl for openwebtext: GPT-2's 50257 padded to a multiple of 64
    "bias": False,  # train.py L56; GPTConfig's own default is True (model.py L116)
    "micro_batch": 12,  # batch_size, per GPU
    "seq_len": 1024,  # block_size
    "gradient_accumulation_steps": 40,  # 5 * 8, summed over GPUs; grad_accum = 40 / n_gpus
    "n_gpus": 1,  # train.py without torchrun: one process, world size 1 (L96-L100)
    "max_iters": 600000,  # the loop runs max_iters + 1 steps (see the `iters` formula)
    "eval_interval": 2000,  # estimate_loss() every 2000 steps, and at step 0 (L36, L263)
    "eval_iters": 200,  # batches per split (train and val) and evaluation (L38, L216-L228)
    "precision": "amp-bf16",  # dtype 'bfloat16' under autocast, on a GPU that supports it (L73)
    "compile": True,  # L74
    "attention": "flash",  # F.scaled_dot_product_attention on PyTorch >= 2.0 (model.py L45)
    "flops_promised": 312e12,  # FLOP/s: estimate_mfu's A100 bf16 peak (model.py L301), on any GPU
    # architecture features (docs/plugins.md), read from model.py and train.py
    "mlp": "gelu",  # c_fc d->4d, GELU, c_proj 4d->d (model.py L78-L91)
    "norm": "layernorm",  # LayerNorm with an optional bias (model.py L18-L27)
    "positions": "learned",  # wpe, block_size x d (model.py L126)
    "tied_embeddings": True,  # wte.weight = lm_head.weight (model.py L138)
    "qkv_fused": True,  # one c_attn d->3d (model.py L35)
    "logits_held": True,  # train.py keeps `logits, loss = model(X, Y)` (train.py L300)
    "causal_mask_buffer": True,  # the slow path's registered `bias` mask (model.py L46-L50)
}

# --- presets: applied over the defaults ---------------------------------------------------------
# The four OpenAI checkpoints as from_pretrained builds them (model.py L216-L225): their shapes,
# with vocab 50257, 1024 positions and biases forced on.
_CHECKPOINT = {
    "vocab_size": upstream.GPT2_VOCAB,  # 50257: the checkpoints' BPE vocabulary, not padded
    "seq_len": upstream.GPT2_BLOCK_SIZE,  # 1024
    "bias": upstream.GPT2_BIAS,  # True
}
PRESETS = {name: {**shape, **_CHECKPOINT} for name, shape in upstream.GPT2_CHECKPOINTS.items()}
# config/train_shakespeare_char.py (L5-L6, L16-L28): the "baby GPT" of the README's quick start
PRESETS["shakespeare-char"] = {
    "n_layer": 6,
    "n_head": 6,
    "n_embd": 384,
    "vocab_size": 65,  # meta.pkl of data/shakespeare_char: 65 distinct characters (prepare.py L66)
    "seq_len": 256,  # block_size: context of up to 256 previous characters
    "micro_batch": 64,
    "gradient_accumulation_steps": 1,
    "max_iters": 5000,
    "eval_interval": 250,  # evaluates often because it overfits
    "eval_iters": 200,
    "dropout": 0.2,
}
# config/train_gpt2.py: GPT-2 (124M) on OpenWebText, "1 node of 8X A100 40GB" (L1-L3), ~0.5M tokens
# per step (12 x 1024 x 5 x 8, L9-L13), 600000 iterations (L16), eval every 1000 steps (L20-L21).
PRESETS["train_gpt2"] = {
    "micro_batch": 12,
    "seq_len": 1024,
    "gradient_accumulation_steps": 40,
    "max_iters": 600000,
    "eval_interval": 1000,
    "eval_iters": 200,
    "n_gpus": 8,
    "hardware": "a100-40gb-sxm",
}

# --- the family's own quantities -----------------------------------------------------------------
# (names shared with other families - n_layer, n_head, n_kv_head, d_model, head_dim, vocab_size -
# must keep the same unit and kind: the registry merges them)


def _count(name: str, doc: str, positive: bool = True) -> Quantity:
    return Quantity(name=name, doc=doc, kind="integer", positive=positive)


QUANTITIES = (
    _count("n_layer", "number of transformer blocks"),
    _count("n_head", "attention heads per block"),
    _count("n_embd", "width of the residual stream (nanoGPT's name for d_model)"),
    _count("vocab_size", "rows of the token embedding wte (= columns of the tied lm_head)"),
    Quantity(name="bias", doc="biases in every Linear and LayerNorm (not lm_head)", kind="bool"),
    _count("block_size", "nanoGPT's block_size: rows of wpe and tokens per training sequence"),
    _count("d_model", "width of the residual stream (= n_embd)"),
    _count("head_dim", "width of one attention head (= n_embd / n_head)"),
    _count("n_kv_head", "key/value heads per block (= n_head: no grouped-query attention)"),
    _count(
        "gradient_accumulation_steps",
        "nanoGPT's configured micro-steps per optimizer step, summed over all GPUs",
    ),
    Quantity(
        name="max_iters",
        doc="nanoGPT's max_iters: the last iteration number (the run makes max_iters + 1 steps)",
        unit="iteration",
        kind="integer",
    ),
    Quantity(
        name="flops_per_token_exact",
        doc="training matmul FLOPs per token exactly as torch.utils.flop_counter counts them",
        unit="FLOP/token",
    ),
    Quantity(
        name="flops_promised",
        doc="the peak estimate_mfu divides by: an A100's dense bf16 312 TFLOP/s, on any GPU",
        unit="FLOP/s",
        positive=True,
    ),
    Quantity(
        name="mfu_nanogpt",
        doc="the MFU train.py prints: one GPU's model FLOP/s over flops_promised",
    ),
)

# --- formulas ------------------------------------------------------------------------------------
# Counts carry their unit by multiplying with it (`... * param`, `... * FLOP/token`); the model's
# shape is in plain numbers: block_size is seq_len without its unit token/sequence.

# matmul FLOPs per token: 3 x forward for the Linear layers (forward, grad of input, grad of weight)
_LINEAR = "72 * n_layer * n_embd**2 + 6 * n_embd * vocab_size"
_EXACT_DOC = (
    "forward + backward matmul FLOPs per token: Linear layers 3 x 2 x (12 d^2 L + d V) (forward, "
    "grad of input, grad of weight; lm_head at every position in training); attention {n} L d T: "
    "Q K^T and A V forward (4 L d T), {bwd}"
)
_EXACT_ASSUMPTIONS = (
    "matmuls only, as torch.utils.flop_counter.FlopCounterMode counts: LayerNorm, GELU, softmax, "
    "embedding lookups, bias additions and the loss count 0",
    "the causal mask is not discounted: all T x T scores count",
    "sequences of block_size tokens (train.py always samples block_size tokens, L123-L125)",
)
_SDPA_FLOPS = "pytorch/pytorch torch/utils/flop_counter.py sdpa_backward_flop_count"

FORMULAS = (
    Formula(
        target="block_size",
        expr="seq_len * sequence/token",
        doc="train.py samples sequences of block_size tokens and builds wpe with block_size rows",
        source=src("train.py", "L123-L125, L147"),
    ),
    Formula(
        target="d_model",
        expr="n_embd",
        doc="the residual width under the shared name",
        source=src("model.py", "L114"),
    ),
    Formula(
        target="head_dim",
        expr="n_embd / n_head",
        doc="q, k and v are split into n_head heads of n_embd // n_head channels",
        source=src("model.py", "L57-L59"),
    ),
    Formula(
        target="n_kv_head",
        expr="n_head",
        doc="k and v are split into as many heads as q: plain multi-head attention",
        source=src("model.py", "L56-L59"),
    ),
    Formula(
        target="d_ff",
        expr="4 * n_embd",
        doc="the MLP is four times as wide as the residual stream",
        source=src("model.py", "L82-L84"),
    ),
    *(
        Formula(target=name, expr="bias", doc=f"`bias` puts biases in {what}", source=src("model.py", lines))
        for name, what, lines in (
            ("norm_bias", "every LayerNorm", "L18-L27"),
            ("qkv_bias", "c_attn", "L35"),
            ("proj_bias", "both c_proj and c_fc", "L37, L82-L84"),
        )
    ),
    Formula(
        target="n_params",
        expr=(
            "(n_layer * (12 * n_embd**2 + (2 + 11 * bias) * n_embd)"
            " + (vocab_size + block_size + 1 + bias) * n_embd) * param"
        ),
        doc=(
            "per block 12 d^2 weights (c_attn 3d^2, c_proj d^2, c_fc 4d^2, c_proj 4d^2), 2d LayerNorm "
            "weights and with bias 11d biases (Linear 3d + d + 4d + d, LayerNorm 2d); wte V d (tied: "
            "lm_head adds nothing), wpe T d, ln_f d (+ d)"
        ),
        source=src("model.py", "L18-L138"),
        assumptions=("the tied wte/lm_head weight counts once, as model.parameters() yields it",),
    ),
    Formula(
        target="n_params_reported",
        expr="n_params - n_embd * block_size * param",
        doc="get_num_params(): all parameters less the position embedding wpe (T d)",
        source=src("model.py", "L148-L160"),
    ),
    Formula(
        target="flops_per_token",
        expr=(
            "(6 * n_params_reported / param"
            " + 12 * n_layer * n_head * head_dim * block_size) * FLOP/token"
        ),
        doc="estimate_mfu: 6N + 12 L H Q T, N = get_num_params(), Q = head_dim, T = block_size",
        source=src("model.py", "L293-L296") + " (after PaLM, arXiv:2204.02311 Appendix B)",
        assumptions=(
            "N excludes wpe but includes the tied wte/lm_head",
            "T is block_size: attention over the full context, the causal mask not discounted",
        ),
    ),
    Formula(
        target="flops_per_token_exact",
        expr=f"({_LINEAR} + 12 * n_layer * n_embd * block_size) * FLOP/token",
        doc=_EXACT_DOC.format(n=12, bwd="backward dA, dV, dQ, dK (8 L d T)"),
        source=src("model.py", "L56-L71, L82-L91, L186"),
        assumptions=_EXACT_ASSUMPTIONS,
        condition='attention == "eager"',
    ),
    Formula(
        target="flops_per_token_exact",
        expr=f"({_LINEAR} + 14 * n_layer * n_embd * block_size) * FLOP/token",
        doc=_EXACT_DOC.format(n=14, bwd="backward recomputes Q K^T, then dA, dV, dQ, dK (10 L d T)"),
        source=src("model.py", "L56-L64, L82-L91, L186") + "; " + _SDPA_FLOPS,
        assumptions=_EXACT_ASSUMPTIONS,
        condition='attention == "flash"',
    ),
    Formula(
        target="mfu_nanogpt",
        expr="flops_per_token * (tokens_per_iter / n_gpus) / iter_time / flops_promised",
        doc=(
            "estimate_mfu(batch_size * gradient_accumulation_steps, dt): one GPU's model FLOPs of one "
            "iteration, (6N + 12LHQT) x T x its micro-batches, per second, over flops_promised"
        ),
        source=src("model.py", "L289-L303") + "; " + src("train.py", "L325"),
        assumptions=(
            "train.py prints a running average of this (0.9 old + 0.1 new, L326), from iteration 5 on",
            "nanoGPT divides by 312e12 (an A100's dense bf16 peak) whatever the GPU and precision",
        ),
    ),
    Formula(
        target="grad_accum",
        expr="gradient_accumulation_steps / n_gpus",
        doc="each of the world-size processes runs its share of the configured micro-steps",
        source=src("train.py", "L94-L95"),
        overridable=True,
    ),
    Formula(
        target="iters",
        expr="max_iters + 1 * iteration",
        doc="the loop steps, then counts, and stops once iter_num > max_iters: steps 0 .. max_iters",
        source=src("train.py", "L255-L333"),
        overridable=True,
    ),
)

CHECKS = (
    Check(
        expr="n_embd % n_head == 0",
        message="n_embd must be a multiple of n_head",
        source=src("model.py", "L33"),
    ),
    Check(
        expr="gradient_accumulation_steps % n_gpus == 0",
        message=(
            "gradient_accumulation_steps (summed over GPUs) must be a multiple of n_gpus; "
            "to give grad_accum per GPU, set gradient_accumulation_steps = grad_accum * n_gpus"
        ),
        source=src("train.py", "L94"),
    ),
)

NANOGPT = Family(
    name="nanogpt",
    doc="karpathy/nanoGPT: a GPT-2 decoder (learned positions, tied embeddings) and its train.py",
    source=src("model.py", "L1-L330") + "; " + src("train.py", "L1-L336"),
    quantities=QUANTITIES,
    defaults=DEFAULTS,
    presets=PRESETS,
    formulas=FORMULAS,
    checks=CHECKS,
    config_loader=load_config,
    config_keys=tuple(upstream.TRAIN_DEFAULTS),
    free_order=("max_iters",),
)


@hookimpl
def register_families(register):
    """The nanoGPT family."""
    register(NANOGPT)


@hookimpl
def register_log_formats(register):
    """train.py's log, for `costmodel calibrate` (costmodel_nanogpt.logs)."""
    from costmodel_nanogpt.logs import NANOGPT_LOG

    register(NANOGPT_LOG)
