"""Fine-tuning is not pre-training: a frozen base forms no weight gradients, LoRA adapters add their
own matmuls, a quantised base is unpacked before each use. Checked by hand for nanochat d32 and by
PyTorch's FlopCounterMode on a stack of frozen Linear layers with LoRA adapters."""

from __future__ import annotations

import pytest

from costmodel import api

D32 = dict(preset="d32", hardware="rtx-4070")
NF4 = {"weights": "nf4", "optimizer": "adamw8bit", "checkpointing": "full", "micro_batch": 1}


def test_d32_frozen_base_saves_its_weight_gradients_by_hand():
    d, layers, vocab, rank = 2048, 32, 65536, 8
    matmul = layers * 12 * d * d + d * vocab  # v0 blocks (q, k, v, o 4d^2 + MLP 8d^2) and lm_head
    lora_rows = 14 * d + 2 * d + 2 * d  # c_q d+q, c_k, c_v d+k, c_proj q+d, c_fc 5d, c_proj 5d (q = k = d)
    lora = rank * lora_rows * layers
    assert lora == 9_437_184
    saved = 2 * matmul - 6 * lora
    r = api.estimate("nanochat", **D32, values=NF4)
    assert r["frozen_flops_saved_per_token"].m_as("FLOP/token") == saved == 3_433_037_824
    full = api.estimate("nanochat", **D32, values={**NF4, "weights": "full"})
    assert full["frozen_flops_saved_per_token"].m_as("FLOP/token") == 0
    per_token = r["flops_per_token"].m_as("FLOP/token")
    assert r["model_flops"].m_as("FLOP") == pytest.approx((per_token - saved) * r["total_tokens"].m_as("token"),
                                                          rel=1e-12)
    # the same run trains 1/3 fewer matmul FLOPs per token than pre-training, so it is faster
    assert r["wall_time"] < full["wall_time"]
    assert r["dequant_time"].m_as("s") > 0 and full["dequant_time"].m_as("s") == 0


def test_a_16_bit_lora_base_needs_no_unpacking():
    r = api.estimate("nanochat", **D32, values={**NF4, "weights": "lora"})
    assert r["dequant_time"].m_as("s") == 0 and r["frozen_flops_saved_per_token"].m_as("FLOP/token") > 0


def test_pytorch_counts_no_weight_gradient_for_frozen_linear_layers():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    d, rank, layers, tokens = 64, 4, 3, 32
    base = [torch.nn.Linear(d, d, bias=False) for _ in range(layers)]
    for lin in base:
        lin.weight.requires_grad_(False)
    a = [torch.nn.Linear(d, rank, bias=False) for _ in range(layers)]
    b = [torch.nn.Linear(rank, d, bias=False) for _ in range(layers)]
    x = torch.randn(tokens, d, requires_grad=True)  # as if an earlier trainable part fed the stack
    with FlopCounterMode(display=False) as counter:
        h = x
        for lin, down, up in zip(base, a, b):
            h = lin(h) + up(down(h))
        h.sum().backward()
    n_base, n_lora = layers * d * d, layers * 2 * d * rank
    pre_training = 6 * n_base  # FLOP per token of the same stack, every weight trained, no adapters
    saved = 2 * n_base - 6 * n_lora  # the formula of frozen_flops_saved_per_token
    assert counter.get_total_flops() == (pre_training - saved) * tokens == (4 * n_base + 6 * n_lora) * tokens
