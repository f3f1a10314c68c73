"""costmodel's nanoGPT formulas against a PyTorch model of the same architecture.

For every configuration of a grid of tiny models (ref_nanogpt.RefGPT, nanoGPT's architecture):

- the unique trainable parameters of the model == costmodel's `n_params`, exactly;
- all parameters less wpe (nanoGPT's get_num_params()) == `n_params_reported`, exactly;
- 6 N + 12 L H Q T from those torch counts (nanoGPT's estimate_mfu) == `flops_per_token`, exactly;
- torch.utils.flop_counter.FlopCounterMode over one forward + backward of a batch of micro_batch x
  block_size tokens == `flops_per_token_exact` x micro_batch x block_size, exactly.

About attention on a CPU: F.scaled_dot_product_attention dispatches to
aten._scaled_dot_product_flash_attention_for_cpu (and its _backward), which FlopCounterMode has no
formula for, so it would count 0 there. For attention="flash" we register torch's own SDPA formulas
(torch.utils.flop_counter.sdpa_flop_count / sdpa_backward_flop_count, the ones it uses for the CUDA
flash, efficient and cuDNN kernels) for those two CPU ops through `custom_mapping`. The
attention="eager" path needs nothing: its Q K^T and A V are plain bmm's. On a CUDA machine one more
test runs the real CUDA kernels with FlopCounterMode's built-in formulas.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils import flop_counter  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ref_nanogpt import RefConfig, RefGPT  # noqa: E402

from costmodel.api import estimate  # noqa: E402

aten = torch.ops.aten


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: with several threads on a busy 2-core machine a step takes 10x longer."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

# (n_layer, n_head, n_embd, vocab_size, block_size, micro_batch): tiny, but every term differs
SHAPES = [
    (1, 1, 8, 5, 4, 1),
    (1, 2, 16, 64, 8, 2),
    (2, 2, 16, 65, 16, 1),
    (2, 4, 32, 101, 13, 3),
    (3, 1, 24, 17, 7, 2),
    (3, 3, 24, 50, 16, 2),
    (2, 8, 64, 257, 32, 1),
    (4, 2, 8, 9, 5, 4),
]
GRID = [
    (*shape, bias, attention)
    for shape in SHAPES
    for bias in (False, True)
    for attention in ("flash", "eager")
]


def _identity_of(shape):
    return "L{}-H{}-d{}-V{}-T{}-B{}-bias{}-{}".format(*shape)


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


def _train_step_flops(model: RefGPT, micro_batch: int, device: str = "cpu", mapping=None) -> int:
    cfg = model.cfg
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(cfg.vocab_size, (micro_batch, cfg.block_size), generator=gen).to(device)
    targets = torch.randint(cfg.vocab_size, (micro_batch, cfg.block_size), generator=gen).to(device)
    counter = flop_counter.FlopCounterMode(display=False, custom_mapping=mapping)
    with counter:
        model(idx, targets).backward()
    return counter.get_total_flops()


def _costmodel(n_layer, n_head, n_embd, vocab_size, block_size, micro_batch, bias, attention):
    result = estimate(
        "nanogpt",
        values={
            "n_layer": n_layer,
            "n_head": n_head,
            "n_embd": n_embd,
            "vocab_size": vocab_size,
            "seq_len": block_size,
            "micro_batch": micro_batch,
            "bias": bias,
            "attention": attention,
        },
    )
    return result.results


@pytest.mark.parametrize("case", GRID, ids=[_identity_of(c) for c in GRID])
def test_counts_match_pytorch(case):
    n_layer, n_head, n_embd, vocab_size, block_size, micro_batch, bias, attention = case
    torch.manual_seed(0)
    cfg = RefConfig(
        n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
        block_size=block_size, bias=bias, attention=attention,
    )
    model = RefGPT(cfg)
    results = _costmodel(*case)

    assert results["n_params"].m_as("param") == model.unique_param_count()
    assert results["n_params_reported"].m_as("param") == model.reported_param_count()

    head_dim = n_embd // n_head  # estimate_mfu's Q
    n = model.reported_param_count()
    by_estimate_mfu = 6 * n + 12 * n_layer * n_head * head_dim * block_size
    assert results["flops_per_token"].m_as("FLOP/token") == by_estimate_mfu

    mapping = CPU_SDPA_FLOPS if attention == "flash" else None
    measured = _train_step_flops(model, micro_batch, mapping=mapping)
    tokens = micro_batch * block_size
    assert results["flops_per_token_exact"].m_as("FLOP/token") * tokens == measured


def test_grid_is_wide_enough():
    assert len(GRID) >= 30
    for column in range(6):
        assert len({shape[column] for shape in SHAPES}) >= 3


def test_flash_and_eager_differ_by_the_recomputed_scores():
    """Flash's backward recomputes Q K^T: 2 B T^2 d more per layer than eager's, nothing else."""
    n_layer, n_head, n_embd, vocab_size, block_size, micro_batch = SHAPES[3]
    counts = {}
    for attention in ("flash", "eager"):
        cfg = RefConfig(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                        block_size=block_size, attention=attention)
        counts[attention] = _train_step_flops(RefGPT(cfg), micro_batch, mapping=CPU_SDPA_FLOPS)
    assert counts["flash"] - counts["eager"] == n_layer * 2 * micro_batch * block_size**2 * n_embd


def test_without_the_mapping_cpu_flash_attention_counts_zero():
    """Why the mapping is needed: FlopCounterMode sees no FLOPs in the CPU SDPA kernels."""
    cfg = RefConfig(attention="flash")
    with_mapping = _train_step_flops(RefGPT(cfg), 2, mapping=CPU_SDPA_FLOPS)
    without = _train_step_flops(RefGPT(cfg), 2)
    assert with_mapping - without == cfg.n_layer * 14 * 2 * cfg.block_size**2 * cfg.n_embd


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("attention", ["flash", "eager"])
def test_cuda_kernels_count_the_same(attention):
    """On a GPU the SDPA kernels are counted by FlopCounterMode's built-in formulas."""
    n_layer, n_head, n_embd, vocab_size, block_size, micro_batch = (2, 4, 64, 101, 64, 2)
    cfg = RefConfig(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                    block_size=block_size, attention=attention)
    model = RefGPT(cfg).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):  # as train.py runs it; flash needs 16 bit
        measured = _train_step_flops(model, micro_batch, device="cuda")
    results = _costmodel(n_layer, n_head, n_embd, vocab_size, block_size, micro_batch, True, attention)
    tokens = micro_batch * block_size
    assert results["flops_per_token_exact"].m_as("FLOP/token") * tokens == measured
