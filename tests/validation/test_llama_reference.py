"""costmodel's llama family against a PyTorch Llama written from the architecture (ref_llama.py).

For every configuration of a grid of tiny models (GQA and MHA, tied and untied, several MLP widths,
explicit head_dim, Qwen2-style q/k/v bias, Llama's attention_bias and mlp_bias):

- the unique trainable parameters == `n_params`, and the Linear weights == `n_params_matmul_weights`;
- PaLM's convention on the reference's module tree (6 per Linear weight, 12 n_head hd T per layer)
  == `flops_per_token`;
- torch.utils.flop_counter.FlopCounterMode over one forward + backward of a (micro_batch, seq_len)
  batch == `flops_per_token_exact` x micro_batch x seq_len, for eager attention (Q K^T and A V as
  matmuls) and SDPA ("flash": torch's own SDPA formulas registered for the CPU kernel, as in
  test_nanochat_reference.py).

And the presets: each model's shape built on the meta device has the parameter count of its
published config.json, which is also written out by hand below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from ref_llama import LlamaConfig, RefLlama  # noqa: E402
# torch's SDPA formulas for the CPU kernel, one forward + backward under FlopCounterMode, and one
# intra-op thread: the same measurement as nanochat's
from test_nanochat_reference import CPU_SDPA_FLOPS, _one_thread, _train_step_flops  # noqa: E402,F401

from costmodel import api  # noqa: E402

# (n_layer, d_model, n_head, n_kv_head, d_ff, vocab, seq_len, micro_batch, extras)
GRID = [
    (1, 16, 2, 2, 32, 11, 5, 2, {}),
    (1, 16, 2, 1, 40, 11, 5, 2, {}),
    (2, 32, 4, 4, 64, 50, 8, 2, {"tied_embeddings": True}),
    (2, 32, 4, 2, 86, 50, 8, 1, {}),
    (2, 32, 4, 1, 96, 50, 8, 1, {"tied_embeddings": True}),
    (3, 24, 3, 3, 64, 33, 6, 2, {}),
    (3, 24, 3, 1, 72, 33, 6, 2, {"tied_embeddings": True}),
    (2, 48, 6, 2, 128, 65, 7, 1, {}),
    (2, 48, 6, 3, 128, 65, 7, 1, {"tied_embeddings": True}),
    (2, 48, 6, 6, 100, 65, 7, 1, {"qkv_bias": True}),
    (2, 64, 8, 2, 172, 100, 9, 2, {"qkv_bias": True, "tied_embeddings": True}),
    (1, 64, 8, 4, 224, 100, 9, 1, {"qkv_bias": True, "out_bias": True}),
    (2, 64, 4, 2, 160, 37, 4, 3, {"mlp_bias": True}),
    (2, 64, 4, 4, 160, 37, 4, 3, {"qkv_bias": True, "out_bias": True, "mlp_bias": True}),
    (4, 16, 4, 2, 48, 20, 6, 1, {}),
    (4, 16, 4, 4, 48, 20, 6, 1, {"tied_embeddings": True}),
    (1, 40, 5, 5, 104, 17, 10, 1, {}),
    (1, 40, 5, 1, 104, 17, 10, 1, {"tied_embeddings": True}),
    (2, 30, 3, 1, 80, 49, 5, 2, {"head_dim": 8}),  # explicit head_dim: n_head*hd != d_model
    (2, 32, 4, 2, 64, 49, 5, 2, {"head_dim": 16, "tied_embeddings": True}),
    (3, 36, 6, 2, 96, 23, 4, 2, {"head_dim": 4, "qkv_bias": True}),
    (1, 128, 8, 8, 344, 64, 3, 1, {}),
    (1, 128, 16, 4, 384, 64, 3, 1, {"tied_embeddings": True}),
    (2, 56, 7, 1, 150, 29, 8, 1, {"qkv_bias": True, "tied_embeddings": True}),
    (5, 12, 2, 1, 30, 9, 4, 1, {}),
    (2, 20, 2, 2, 20, 300, 6, 2, {}),
    (2, 20, 2, 1, 20, 300, 6, 2, {"tied_embeddings": True, "mlp_bias": True}),
    (3, 96, 12, 4, 256, 31, 5, 1, {}),
    (3, 96, 12, 3, 256, 31, 5, 1, {"qkv_bias": True}),
    (1, 72, 6, 2, 192, 80, 11, 1, {"out_bias": True, "tied_embeddings": True}),
    (2, 60, 5, 5, 160, 15, 12, 1, {}),
    (2, 60, 10, 5, 140, 15, 12, 1, {"head_dim": 6, "tied_embeddings": True}),
]
CASES = [(shape, attention) for shape in GRID for attention in ("eager", "flash")]


def _case_id(case) -> str:
    (L, d, h, kv, f, V, T, B, extras), attention = case
    flags = "-".join(f"{k}={v}" for k, v in sorted(extras.items()))
    return f"L{L}-d{d}-h{h}-kv{kv}-f{f}-V{V}-T{T}-B{B}-{attention}" + (f"-{flags}" if flags else "")


def _config(shape, attention) -> LlamaConfig:
    L, d, h, kv, f, V, T, _, extras = shape
    return LlamaConfig(n_layer=L, d_model=d, n_head=h, n_kv_head=kv, d_ff=f, vocab_size=V,
                       seq_len=T, attention=attention, **extras)


def _costmodel(shape, attention):
    L, d, h, kv, f, V, T, B, extras = shape
    values = {"n_layer": L, "d_model": d, "n_head": h, "n_kv_head": kv, "d_ff": f,
              "vocab_size": V, "seq_len": T, "micro_batch": B, "attention": attention,
              "tied_embeddings": False, "qkv_bias": False, "out_bias": False, "mlp_bias": False,
              **extras}
    return api.estimate("llama", values=values)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_counts_match_pytorch(case):
    shape, attention = case
    torch.manual_seed(0)
    model = RefLlama(_config(shape, attention))
    cfg, r = model.cfg, _costmodel(shape, attention)

    assert r["head_dim"].m_as("1") == cfg.hd
    assert r["n_params"].m_as("param") == model.unique_param_count()
    assert r["n_params_matmul_weights"].m_as("param") == model.matmul_weight_count()

    palm = 6 * model.matmul_weight_count() + 12 * cfg.n_layer * cfg.n_head * cfg.hd * cfg.seq_len
    assert r["flops_per_token"].m_as("FLOP/token") == palm

    micro_batch = shape[7]
    mapping = CPU_SDPA_FLOPS if attention == "flash" else None
    measured = _train_step_flops(model, micro_batch, mapping=mapping)
    predicted = r["flops_per_token_exact"].m_as("FLOP/token") * micro_batch * cfg.seq_len
    assert predicted == measured


# The presets' shapes, from each model's published config.json (docs/families/llama.md has the
# URLs), and their parameter counts worked out by hand from the same values:
#   V d (embedding) + V d (untied lm_head) + L [2 d q + 2 d k + 3 d f + (q + 2k biases) + 2 d] + d
# with q = n_head hd, k = n_kv_head hd.
PRESETS = {
    # 2*32000*2048 + 22*(2*2048*2048 + 2*2048*256 + 3*2048*5632 + 2*2048) + 2048
    "tinyllama-1.1b": (dict(n_layer=22, d_model=2048, n_head=32, n_kv_head=4, d_ff=5632,
                            vocab_size=32000), 1_100_048_384),
    # 2*32000*4096 + 32*(4*4096*4096 + 3*4096*11008 + 2*4096) + 4096
    "llama-2-7b": (dict(n_layer=32, d_model=4096, n_head=32, n_kv_head=32, d_ff=11008,
                        vocab_size=32000), 6_738_415_616),
    # 128256*2048 (tied) + 16*(2*2048*2048 + 2*2048*512 + 3*2048*8192 + 2*2048) + 2048
    "llama-3.2-1b": (dict(n_layer=16, d_model=2048, n_head=32, n_kv_head=8, head_dim=64, d_ff=8192,
                          vocab_size=128256, tied_embeddings=True), 1_235_814_400),
    # 2*128256*4096 + 32*(2*4096*4096 + 2*4096*1024 + 3*4096*14336 + 2*4096) + 4096
    "llama-3.1-8b": (dict(n_layer=32, d_model=4096, n_head=32, n_kv_head=8, d_ff=14336,
                          vocab_size=128256), 8_030_261_248),
    # 2*32000*4096 + 32*(2*4096*4096 + 2*4096*1024 + 3*4096*14336 + 2*4096) + 4096
    "mistral-7b": (dict(n_layer=32, d_model=4096, n_head=32, n_kv_head=8, d_ff=14336,
                        vocab_size=32000), 7_241_732_096),
    # 49152*960 (tied) + 32*(2*960*960 + 2*960*320 + 3*960*2560 + 2*960) + 960
    "smollm2-360m": (dict(n_layer=32, d_model=960, n_head=15, n_kv_head=5, d_ff=2560,
                          vocab_size=49152, tied_embeddings=True), 361_821_120),
    # 151936*896 (tied) + 24*(2*896*896 + 2*896*128 + (896 + 2*128) + 3*896*4864 + 2*896) + 896
    "qwen2.5-0.5b": (dict(n_layer=24, d_model=896, n_head=14, n_kv_head=2, d_ff=4864,
                          vocab_size=151936, tied_embeddings=True, qkv_bias=True), 494_032_768),
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_have_the_published_parameter_counts(preset):
    shape, published = PRESETS[preset]
    with torch.device("meta"):
        model = RefLlama(LlamaConfig(seq_len=8, **shape))
    assert model.unique_param_count() == published
    r = api.estimate("llama", preset=preset)
    assert r["n_params"].m_as("param") == published
    for name, value in shape.items():
        assert r.input_numbers.get(name, r.numbers.get(name)) == value, name

