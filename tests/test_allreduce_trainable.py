"""The gradient all-reduce moves the trained parameters' gradients only (issue 13).

A frozen base (LoRA, int8, NF4) forms no gradient for its weights, so data-parallel GPUs reduce the
adapters' gradients alone. Golden values by hand from the definitions:

- nanoGPT gpt2 (model.py@3adf61e154c3): 12 blocks of c_attn 768 -> 2304, attn c_proj 768 -> 768,
  c_fc 768 -> 3072, mlp c_proj 3072 -> 768. LoRA rank 8 on every Linear of a block (huggingface/peft
  LoraConfig r=8; A is r x d_in, B is d_out x r): 8 x (3072 + 1536 + 3840 + 3840) x 12 parameters.
- fp32 gradients under autocast (4 bytes each; PyTorch DDP reduces in the parameters' dtype).
- ring all-reduce (Patarasuk & Yuan 2009): each GPU sends 2 (n - 1) / n of the bytes.
"""

from __future__ import annotations

import pytest

from costmodel import api

LORA_PARAMS = 8 * (768 + 2304 + 768 + 768 + 768 + 3072 + 3072 + 768) * 12  # 1,179,648
GPT2_PARAMS = 12 * (12 * 768**2 + 13 * 768) + (50257 + 1024 + 2) * 768


@pytest.mark.parametrize("weights", ["lora", "int8", "nf4"])
def test_two_gpus_reduce_the_adapters_only(weights):
    r = api.estimate("nanogpt", preset="gpt2", hardware="2xrtx-4090", values={"weights": weights})
    bandwidth = api.hardware_values("rtx-4090")["interconnect_bandwidth"].m_as("byte/s")
    n = 2
    grad_bytes = 4 * LORA_PARAMS
    assert r["n_params_trainable"].m_as("param") == LORA_PARAMS
    assert r["allreduce_bytes"].m_as("byte") == pytest.approx(grad_bytes, rel=1e-12)
    assert r["allreduce_time"].m_as("s/iteration") == pytest.approx(
        2 * (n - 1) / n * grad_bytes / bandwidth, rel=1e-9)


def test_full_training_reduces_every_parameter():
    r = api.estimate("nanogpt", preset="gpt2", hardware="2xrtx-4090")
    assert r["allreduce_bytes"].m_as("byte") == pytest.approx(4 * GPT2_PARAMS, rel=1e-12)
