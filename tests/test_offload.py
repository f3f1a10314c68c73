"""Optimizer offloading (plugins/costmodel_memory/offload.py) against hand arithmetic.

ZeRO-Offload (Ren et al. 2021, arXiv:2101.06840): the GPU keeps weights and gradients, the host
keeps fp32 master weights, gradients and both Adam moments (16 bytes per parameter); per step the
gradients go out and the weights come back in the GPU's weight dtype over PCIe 4.0 x16 (31.5 GB/s
per direction), and DeepSpeed's CPU Adam streams 28 bytes per parameter through dual-channel
DDR4-3200 (51.2 GB/s). A paged optimizer's states leave the GPU under pressure and come back for
the step: a round trip of the states over the same link.
"""

from __future__ import annotations

import pytest

from costmodel import api
from costmodel.errors import UserError

D32 = dict(preset="d32", hardware="rtx-4070")
RECIPE = {"version": "v0", "n_gpus": 1, "precision": "bf16", "checkpointing": "full", "micro_batch": 1}


def _estimate(**values):
    return api.estimate("nanochat", values={**RECIPE, **values}, **D32)


def test_zero_offload_moves_the_adam_states_and_the_update_to_the_cpu():
    on_gpu = _estimate(optimizer="adamw")
    offloaded = _estimate(optimizer="adamw", offload="cpu")
    n = offloaded.numbers["n_params"]
    r = offloaded.numbers
    assert r["mem_optimizer_resident"] == 0 and r["mem_optimizer_step_gpu"] == 0
    # the GPU holds the same weights and gradients (bf16: 2 bytes each), the states are gone
    assert r["mem_weights"] == on_gpu.numbers["mem_weights"]
    assert r["mem_static"] == pytest.approx(on_gpu.numbers["mem_static"] - on_gpu.numbers["mem_optimizer"])
    assert on_gpu.numbers["mem_optimizer"] == pytest.approx(2 * 2 * n)  # AdamW's two bf16 moments
    assert r["mem_host"] == pytest.approx(16 * n)
    # per step: 2 bytes out and 2 bytes back per parameter at 31.5 GB/s, 28 bytes at 51.2 GB/s
    assert r["offload_time"] == pytest.approx(4 * n / 31.5e9 + 28 * n / 51.2e9, rel=1e-12)
    # one GPU, no all-reduce: the step takes exactly that much longer
    assert r["iter_time"] - on_gpu.numbers["iter_time"] == pytest.approx(r["offload_time"], rel=1e-9)
    assert r["mem_peak"] < on_gpu.numbers["mem_peak"]


def test_paged_optimizer_states_leave_the_gpu_until_the_step():
    on_gpu = _estimate(optimizer="adamw8bit")
    paged = _estimate(optimizer="adamw8bit", offload="paged")
    states = on_gpu.numbers["mem_optimizer"]
    r = paged.numbers
    assert r["mem_optimizer_resident"] == 0
    assert r["mem_optimizer_paged_in"] == states
    assert r["mem_moment_step"] == pytest.approx(on_gpu.numbers["mem_moment_step"])  # back for the step
    assert r["offload_time"] == pytest.approx(2 * states / 31.5e9, rel=1e-12)
    assert r["mem_host"] == states


def test_the_host_link_and_memory_are_default_rules():
    r = _estimate(optimizer="adamw", offload="cpu", host_link_bandwidth="63 GB/s",
                  host_memory_bandwidth="204.8 GB/s").numbers
    n = r["n_params"]
    assert r["offload_time"] == pytest.approx(4 * n / 63e9 + 28 * n / 204.8e9, rel=1e-12)


def test_no_offload_costs_nothing_and_unsupported_optimizers_are_refused():
    r = _estimate(optimizer="muon").numbers
    assert r["offload_time"] == 0 and r["mem_host"] == 0
    assert r["mem_optimizer_resident"] == r["mem_optimizer"]
    # DeepSpeed's CPU optimizer is Adam: offloading Muon has no memory model
    assert "mem_peak" not in _estimate(optimizer="muon", offload="cpu").numbers
    with pytest.raises(UserError, match="cannot compute mem_peak"):
        api.estimate("nanochat", targets=["mem_peak"], values={**RECIPE, "optimizer": "muon", "offload": "cpu"},
                     **D32)


def test_zero_offload_bytes_counted_by_pytorch_on_a_real_model():
    """The host side of ZeRO-Offload rebuilt with PyTorch on a real nanochat model (v0, depth 2,
    tests/validation/ref_nanochat.py): fp32 master weights and gradients and AdamW's states after a
    step are counted tensor by tensor; per step the bf16 gradients go out and the bf16 weights come
    back; the update reads master, gradient and both moments and writes master and moments."""
    import sys
    from pathlib import Path

    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent / "validation"))
    from ref_nanochat import RefNanochat, config_from_depth

    cfg = config_from_depth("v0", 2, vocab_size=65536, seq_len=64)
    model = RefNanochat(cfg)
    master = [p.detach().float().clone().requires_grad_(True) for p in model.parameters()]
    for m in master:
        m.grad = torch.zeros_like(m)
    opt = torch.optim.AdamW(master, lr=1e-3)
    opt.step()
    states = [t for st in opt.state.values() for k, t in st.items() if k != "step"]
    host = sum(t.nbytes for t in master) + sum(m.grad.nbytes for m in master) + sum(t.nbytes for t in states)
    link = 2 * sum(p.numel() * torch.empty((), dtype=torch.bfloat16).element_size() for p in model.parameters())
    update = sum(t.nbytes for t in master) * 2 + sum(m.grad.nbytes for m in master) + 2 * sum(t.nbytes for t in states)

    r = api.estimate("nanochat", hardware="rtx-4070", values={
        "version": "v0", "depth": 2, "n_gpus": 1, "precision": "bf16", "optimizer": "adamw", "offload": "cpu",
        "micro_batch": 1}).numbers
    assert r["n_params"] == sum(p.numel() for p in model.parameters())
    assert r["mem_host"] == host
    assert r["offload_time"] == pytest.approx(link / 31.5e9 + update / 51.2e9, rel=1e-12)
