"""costmodel's nanochat formulas against PyTorch models of both versions' architectures.

For every configuration of a grid of tiny models per version (ref_nanochat.RefNanochat, sized by
ref_nanochat.config_from_depth, which applies base_train's depth rules on its own):

- model_dim, n_head, head_dim, n_kv_head == the reference's config;
- the unique trainable parameters == `n_params`, and each optimizer group (Muon, AdamW embedding,
  unembedding, scalar), the scaling count and the matmul weights == costmodel's, exactly;
- the version's estimate_flops convention, evaluated on the reference's module tree ==
  `flops_per_token`, exactly;
- torch.utils.flop_counter.FlopCounterMode over one forward + backward of a (micro_batch, seq_len)
  batch == `flops_per_token_exact` x micro_batch x seq_len (equal as integers: head's exact count
  per token is a fraction, since the smear gate runs on T - 1 of T tokens).

Attention on a CPU: F.scaled_dot_product_attention dispatches to
aten._scaled_dot_product_flash_attention_for_cpu (and _backward), for which FlopCounterMode has no
formula, so it would count 0. For attention="flash" we register torch's own SDPA formulas
(flop_counter.sdpa_flop_count / sdpa_backward_flop_count: 4 + 10 FLOP per h*hd*T^2, the backward
recomputing Q K^T) for those two ops through `custom_mapping`; attention="eager" writes Q K^T and A V
as plain matmuls (4 + 8). Sliding windows (head): both paths compute the dense T x T matrix with a
mask, and FlopCounterMode counts it dense; costmodel's exact count is dense too (see
plugins/costmodel_nanochat/compute.py). The tiny sequences here are shorter than a short window
(>= 128 keys), so the windows are exercised by the meta-device grid at real sequence lengths.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils import flop_counter  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ref_nanochat import RefConfig, RefNanochat, config_from_depth  # noqa: E402

from costmodel.api import estimate  # noqa: E402

aten = torch.ops.aten

# (depth, aspect_ratio, target_head_dim, vocab_size, seq_len, micro_batch, n_kv_head, window_pattern)
# n_kv_head None: base_train's n_kv_head = n_head. Every v0 shape passes v0's n_embd % n_head check;
# every head shape is at least 24 wide (the smear gate reads 24 channels).
V0_SHAPES = [
    (1, 8, 4, 5, 4, 1, None, "SSSL"),
    (2, 16, 8, 64, 8, 2, None, "SSSL"),
    (2, 16, 8, 64, 8, 2, 2, "SSSL"),
    (2, 12, 8, 65, 16, 1, None, "SSSL"),
    (3, 8, 16, 17, 7, 2, None, "SSSL"),
    (3, 16, 8, 50, 12, 2, None, "SSSL"),
    (3, 16, 8, 50, 12, 2, 3, "SSSL"),
    (4, 8, 8, 101, 13, 3, None, "SSSL"),
    (4, 8, 8, 101, 13, 3, 1, "SSSL"),
    (1, 32, 128, 9, 5, 2, None, "SSSL"),
    (5, 4, 4, 33, 6, 1, None, "SSSL"),
    (2, 24, 16, 40, 10, 2, None, "SSSL"),
    (6, 4, 8, 23, 9, 1, None, "SSSL"),
    (7, 8, 16, 12, 3, 2, None, "SSSL"),
    (1, 64, 16, 70, 2, 3, 2, "SSSL"),
    (8, 2, 4, 10, 4, 1, None, "SSSL"),
]
HEAD_SHAPES = [
    (1, 24, 8, 5, 4, 1, None, "SSSL"),
    (2, 16, 8, 64, 8, 2, 2, "SSSL"),
    (3, 12, 8, 65, 16, 1, None, "SL"),
    (4, 8, 16, 100, 7, 2, None, "L"),
    (5, 8, 8, 130, 12, 1, 1, "SSL"),
    (2, 10, 8, 63, 9, 2, None, "S"),
    (6, 4, 8, 17, 6, 3, None, "SSSL"),
    (3, 16, 16, 200, 10, 1, None, "SSSL"),
    (7, 4, 8, 50, 5, 2, None, "SL"),
    (1, 64, 16, 70, 3, 2, 2, "L"),
    (4, 6, 8, 129, 11, 1, None, "SSL"),
    (8, 3, 8, 10, 4, 1, None, "SSSL"),
    (2, 24, 8, 64, 2, 3, 3, "SSSL"),
    (9, 2, 8, 12, 5, 1, None, "SSL"),
    (3, 8, 4, 20, 6, 2, None, "SL"),  # head_dim 4 and 6: eager only (FA3 needs a multiple of 8)
    (3, 9, 6, 31, 8, 1, None, "SSSL"),
]
GRID = [
    (version, shape, attention)
    for version, shapes in (("v0", V0_SHAPES), ("head", HEAD_SHAPES))
    for shape in shapes
    for attention in ("eager", "flash")
    if not (version == "head" and attention == "flash" and shape[2] % 8)
]


def _case_id(case) -> str:
    version, (depth, ar, hd, vocab, seq, batch, kv, pattern), attention = case
    return f"{version}-d{depth}-ar{ar}-hd{hd}-V{vocab}-T{seq}-B{batch}-kv{kv}-{pattern}-{attention}"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread is ~15x faster than two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _as_shapes(fn):
    """FlopCounterMode passes shapes in place of tensors to a mapped formula; drop the extras."""

    def formula(*shapes, out_shape=None, **kwargs):
        return fn(*shapes)

    return formula


# torch's own SDPA flop formulas, for the CPU flash kernel FlopCounterMode does not know
CPU_SDPA_FLOPS = {
    aten._scaled_dot_product_flash_attention_for_cpu: _as_shapes(
        lambda q, k, v, *rest: flop_counter.sdpa_flop_count(q, k, v)
    ),
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _as_shapes(
        lambda grad_out, q, k, v, *rest: flop_counter.sdpa_backward_flop_count(grad_out, q, k, v)
    ),
}


def _reference(version, shape, attention, device=None) -> RefNanochat:
    depth, ar, hd, vocab, seq, _, kv, pattern = shape
    cfg = config_from_depth(version, depth, aspect_ratio=ar, head_dim=hd, vocab_size=vocab,
                            seq_len=seq, n_kv_head=kv, window_pattern=pattern, attention=attention)
    if device is None:
        torch.manual_seed(0)
        return RefNanochat(cfg)
    with torch.device(device):
        return RefNanochat(cfg)


def _costmodel(version, shape, attention):
    depth, ar, hd, vocab, seq, batch, kv, pattern = shape
    values = {
        "version": version, "depth": depth, "aspect_ratio": ar, "target_head_dim": hd,
        "vocab_size": vocab, "seq_len": seq, "micro_batch": batch, "window_pattern": pattern,
        "attention": attention,
        # one GPU, one micro-step per optimizer step: satisfies base_train's divisibility assert
        "n_gpus": 1, "total_batch_size": batch * seq,
    }
    if kv is not None:
        values["n_kv_head"] = kv
    return estimate("nanochat", values=values)


def _train_step_flops(model: RefNanochat, micro_batch: int, mapping=None, device="cpu") -> int:
    cfg = model.cfg
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(cfg.vocab_size, (micro_batch, cfg.seq_len), generator=gen).to(device)
    targets = torch.randint(cfg.vocab_size, (micro_batch, cfg.seq_len), generator=gen).to(device)
    counter = flop_counter.FlopCounterMode(display=False, custom_mapping=mapping)
    with counter:
        model(idx, targets).backward()
    return counter.get_total_flops()


def _count(result, name: str, unit: str = "param") -> float:
    return result[name].m_as(unit)  # a result, or an input the test gave


@pytest.mark.parametrize("case", GRID, ids=[_case_id(c) for c in GRID])
def test_counts_match_pytorch(case):
    version, shape, attention = case
    model = _reference(version, shape, attention)
    cfg, r = model.cfg, _costmodel(version, shape, attention)

    assert _count(r, "model_dim", "1") == _count(r, "d_model", "1") == cfg.n_embd
    assert _count(r, "n_head", "1") == cfg.n_head
    assert _count(r, "n_kv_head", "1") == cfg.n_kv_head
    assert _count(r, "head_dim", "1") == cfg.n_embd // cfg.n_head
    assert _count(r, "n_layer", "1") == cfg.n_layer

    assert _count(r, "n_params") == model.unique_param_count()
    groups = model.groups()
    assert _count(r, "n_params_muon") == groups["muon"]
    assert _count(r, "n_params_adamw_embedding") == groups["embedding"]
    assert _count(r, "n_params_adamw_unembedding") == groups["unembedding"]
    assert _count(r, "n_params_adamw_scalar") == groups["scalar"]
    assert _count(r, "n_params_scaling") == model.scaling_param_count()
    assert _count(r, "n_params_matmul") == model.matmul_param_count()

    assert _count(r, "flops_per_token", "FLOP/token") == model.estimate_flops()

    micro_batch = shape[5]
    mapping = CPU_SDPA_FLOPS if attention == "flash" else None
    measured = _train_step_flops(model, micro_batch, mapping=mapping)
    predicted = _count(r, "flops_per_token_exact", "FLOP/token") * micro_batch * cfg.seq_len
    assert predicted == pytest.approx(measured, rel=1e-12, abs=0)
    assert round(predicted) == measured


# Real sequence lengths, where head's short windows are shorter than the context: the models are
# built on the meta device (shapes only), for the estimate_flops convention and the parameters.
WINDOW_SHAPES = [
    (depth, 64, 128, 32768, seq, 1, None, pattern)
    for depth, seq, pattern in [
        (4, 2048, "SSSL"), (5, 1024, "SSSL"), (6, 700, "SL"), (7, 4096, "SSL"), (8, 256, "S"),
        (9, 513, "SSSL"), (11, 2048, "L"), (12, 300, "SSSL"), (13, 1500, "SL"), (3, 128, "S"),
    ]
] + [(20, 64, 128, 65536, 2048, 1, None, "SSSL"), (26, 64, 128, 65536, 1024, 1, None, "SSSL")]


def _v0_accepts(depth: int) -> bool:
    """v0's n_embd % n_head == 0 at aspect ratio 64, heads of ~128 (tests/test_nanochat.py)."""
    return (64 * depth) % max(1, -(-64 * depth // 128)) == 0


WINDOW_CASES = [(v, s) for v in ("v0", "head") for s in WINDOW_SHAPES if v == "head" or _v0_accepts(s[0])]


@pytest.mark.parametrize(("version", "shape"), WINDOW_CASES,
                         ids=[f"{v}-d{s[0]}-T{s[4]}-{s[7]}" for v, s in WINDOW_CASES])
def test_estimate_flops_with_windows(version, shape):
    depth, _, _, _, _, _, _, pattern = shape
    model = _reference(version, shape, "flash", device="meta")
    r = _costmodel(version, shape, "flash")
    assert _count(r, "n_params") == model.unique_param_count()
    assert _count(r, "flops_per_token", "FLOP/token") == model.estimate_flops()
    # S layers by the pattern, read one layer at a time (the last layer is always L)
    short = sum(version == "head" and pattern[i % len(pattern)] == "S" for i in range(depth - 1))
    assert _count(r, "n_short_layers", "1") == short


def test_grid_is_wide_enough():
    for version in ("v0", "head"):
        cases = [c for c in GRID if c[0] == version]
        assert len(cases) >= 30
        for column in range(6):
            assert len({shape[column] for _, shape, _ in cases}) >= 3


def test_flash_and_eager_differ_by_the_recomputed_scores():
    """torch's SDPA backward formula recomputes Q K^T: 2 B T^2 d more per layer than eager."""
    for version in ("v0", "head"):
        shape = (3, 16, 8, 50, 12, 2, None, "SSSL")
        counts = {a: _train_step_flops(_reference(version, shape, a), 2, mapping=CPU_SDPA_FLOPS)
                  for a in ("eager", "flash")}
        n_layer, d, seq, batch = 3, 48, 12, 2
        assert counts["flash"] - counts["eager"] == n_layer * 2 * batch * seq**2 * d


def test_without_the_mapping_cpu_sdpa_counts_zero():
    """Why the mapping is needed: FlopCounterMode sees no FLOPs in the CPU SDPA kernels."""
    shape = (2, 16, 8, 64, 8, 2, None, "SSSL")
    model = _reference("v0", shape, "flash")
    without = _train_step_flops(model, 2)
    with_mapping = _train_step_flops(model, 2, mapping=CPU_SDPA_FLOPS)
    assert with_mapping - without == 2 * 14 * 2 * 8**2 * 32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("version", ["v0", "head"])
def test_cuda_sdpa_kernels_count_the_same(version):
    """On a GPU, FlopCounterMode's built-in formulas count the CUDA SDPA kernels."""
    shape = (2, 32, 16, 101, 64, 2, None, "SSSL")
    model = _reference(version, shape, "flash").cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        measured = _train_step_flops(model, 2, device="cuda")
    r = _costmodel(version, shape, "flash")
    assert round(_count(r, "flops_per_token_exact", "FLOP/token") * 2 * 64) == measured
