"""8-bit optimizer states and 4-bit / 8-bit weights: golden byte counts from the libraries' layouts.

Every expected number is computed here by hand, tensor by tensor, from the layouts as the libraries
store them (bitsandbytes 0.50.1, commit 37d2a9387f71):

AdamW8bit (bitsandbytes/optim/adamw.py L62-L73 -> Optimizer2State, optim/optimizer.py):
  L414  min_8bit_size=4096
  L502  `if p.numel() < config["min_8bit_size"]: dtype = torch.float32` -> two fp32 states (8 B/elem)
  L518-L521  state1, state2 = uint8 buffers like p (1 B/elem each)
  L524-L529  blocksize = 256; blocks = ceil(n / 256); absmax1, absmax2 = fp32 (blocks,)
NF4 (Linear4bit / Params4bit defaults: nn/modules.py L220 compress_statistics=True, L231 blocksize 64):
  _ops.py L233-L235  blocks = ceil(n / 64); absmax fp32 (blocks,); packed data ((n + 1) // 2) uint8
  functional.py L938-L949  compress_statistics: offset = absmax.mean() (one fp32), absmax - offset
      quantized by quantize_blockwise(..., blocksize=256): _ops.py L346-L349 uint8 like absmax
      (1 B per block of 64) + fp32 absmax per 256 of those
  QLoRA (arXiv:2305.14314) section 3: 4 + 8/64 + 32/(64 * 256) = 4.127 bits per parameter.
int8 (Linear8bitLt / Int8Params, nn/modules.py L743 int8_vectorwise_quant): _ops.py L95-L98 an int8
  tensor like the weight and one fp32 row statistic per output row (SCB).
"""

from __future__ import annotations

import math

import pytest

from costmodel.api import estimate


def adamw8bit_bytes(n: int) -> int:
    if n < 4096:
        return 2 * 4 * n
    return 2 * n + 2 * 4 * math.ceil(n / 256)


def nf4_bytes(n: int) -> int:
    blocks = math.ceil(n / 64)
    return (n + 1) // 2 + blocks + 4 * math.ceil(blocks / 256) + 4


def int8_bytes(rows: int, cols: int) -> int:
    return rows * cols + 4 * rows


# nanoGPT's tensors (model.py L118-L138), bias off: (rows, cols) per tensor
L, D, V, T = 4, 256, 50304, 1024


def nanogpt_tensors():
    yield (V, D)  # wte (tied lm_head)
    yield (T, D)  # wpe
    for _ in range(L):
        yield (D, 1)  # ln_1
        yield (3 * D, D)  # c_attn
        yield (D, D)  # c_proj
        yield (D, 1)  # ln_2
        yield (4 * D, D)  # c_fc
        yield (D, 4 * D)  # c_proj
    yield (D, 1)  # ln_f


BLOCK_MATRICES = [(3 * D, D), (D, D), (4 * D, D), (D, 4 * D)]
VALUES = {"n_layer": L, "n_embd": D, "n_head": 4, "vocab_size": V, "seq_len": T, "bias": False,
          "micro_batch": 1, "precision": "amp-bf16"}


def results(**values):
    return estimate("nanogpt", values={**VALUES, **values}).results


def test_adamw8bit_states_of_nanogpt():
    expected = sum(adamw8bit_bytes(r * c) for r, c in nanogpt_tensors())
    got = results(optimizer="adamw8bit")["mem_optimizer"].m_as("byte")
    # costmodel sums ceil(n/256) without the ceil: every tensor here has a multiple of 256 elements
    assert got == pytest.approx(expected, rel=1e-12)


def test_adamw8bit_small_tensors_keep_fp32_states():
    assert adamw8bit_bytes(4095) == 8 * 4095
    assert adamw8bit_bytes(4096) == 2 * 4096 + 8 * 16
    n_small = results()["n_params_small"].m_as("param")
    assert n_small == (2 * L + 1) * D  # the LayerNorm weights: d = 256 < 4096 elements each


def test_nf4_base_of_nanogpt():
    """Frozen NF4 block matrices + everything else frozen in bf16 + LoRA adapters in fp32."""
    quantised = sum(nf4_bytes(r * c) for r, c in BLOCK_MATRICES) * L
    others = (V * D + T * D + (2 * L + 1) * D) * 2
    got = results(weights="nf4")
    frozen = got["mem_frozen"].m_as("byte")
    # costmodel leaves out the per-tensor fp32 offset (4 bytes) and the ceil of the second level
    assert frozen == pytest.approx(quantised + others, abs=4 * 2 * len(BLOCK_MATRICES) * L)
    lora = 8 * (16 * D) * L  # rank 8 on all four matrices: r (d_in + d_out) each
    assert got["n_params_lora"].m_as("param") == lora
    assert got["mem_weights"].m_as("byte") == pytest.approx(frozen + 4 * lora)
    assert got["mem_grads"].m_as("byte") == 4 * lora
    assert got["mem_optimizer"].m_as("byte") == 8 * lora


def test_nf4_is_4_127_bits_per_parameter():
    n = 4096 * 4096
    assert 8 * (nf4_bytes(n) - 4) / n == pytest.approx(4 + 8 / 64 + 32 / (64 * 256))
    got = results(weights="nf4")
    matrices = got["n_params_matrices"].m_as("param")
    others = got["n_params"].m_as("param") - matrices
    per_param = (got["mem_frozen"].m_as("byte") - 2 * others) / matrices
    assert 8 * per_param == pytest.approx(4.127, abs=1e-3)


def test_int8_base_of_nanogpt():
    quantised = sum(int8_bytes(r, c) for r, c in BLOCK_MATRICES) * L
    others = (V * D + T * D + (2 * L + 1) * D) * 2
    assert results(weights="int8")["mem_frozen"].m_as("byte") == quantised + others


def test_quantised_weights_do_not_change_flops():
    full, nf4 = results(), results(weights="nf4")
    assert nf4["flops_per_token"] == full["flops_per_token"]
    assert nf4["quantised_flops_ratio"].magnitude == 1
