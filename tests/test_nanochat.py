"""Golden tests of the nanochat family: every expected number is worked out here by hand.

The arithmetic goes module by module through karpathy/nanochat nanochat/gpt.py and the sizing rules
of scripts/base_train.py at the two commits the family follows (v0 = fae3aca9519a, head =
92d63d4e8bb4); it is not the plugin's formulas. Where nanochat itself published a number, the test
says where:
  run1000.sh@fae3aca9519a L44-L57   the d32 base_train log of the $1000 run (8xH100)
  speedrun.sh@fae3aca9519a L85      "The d20 model is 561M parameters."
  README.md@fae3aca9519a L29        "The speedrun is a 4e19 FLOPs capability model"
  dev/LOG.md@92d63d4e8bb4 L247-L252 the auto batch size table (written 2026-02-05, still head's rule)
"""

from __future__ import annotations

import math

import pytest

from costmodel.api import estimate
from costmodel.errors import UserError


def run(version, preset=None, **values):
    return estimate("nanochat", preset=preset, values={"version": version, **values})


def num(result, name, unit="param"):
    return result[name].m_as(unit)


# --- v0: sizes and counts, module by module ---------------------------------------------------


def v0_shape(depth):
    """base_train.py@fae3aca9519a L75-L78: width 64 per layer, heads of 128 (ceil division)."""
    d = 64 * depth
    heads = max(1, (d + 127) // 128)
    return d, heads, d // heads


def v0_params(depth, vocab=65536):
    """gpt.py@fae3aca9519a: wte, blocks (c_q, c_k, c_v, c_proj, c_fc, mlp c_proj), lm_head."""
    d, heads, hd = v0_shape(depth)
    q = d * heads * hd
    k = v = d * heads * hd  # n_kv_head = n_head
    proj = d * d
    fc = d * 4 * d
    mlp_proj = 4 * d * d
    block = q + k + v + proj + fc + mlp_proj
    wte = vocab * d
    lm_head = d * vocab
    return wte + depth * block + lm_head


def v0_estimate_flops(depth, vocab=65536, seq=2048):
    """GPT.estimate_flops@fae3aca9519a L220-L226: 6 (N - wte) + 12 l h q t."""
    d, heads, hd = v0_shape(depth)
    return 6 * (v0_params(depth, vocab) - vocab * d) + 12 * depth * heads * hd * seq


def test_v0_d32_matches_the_run1000_log():
    # run1000.sh L44-L57 (depth 32, device_batch_size 8, 8 GPUs):
    #   Vocab size: 65,536 / model_dim: 2048 / num_heads: 16 / num_kv_heads: 16
    #   Total batch size 524,288 => gradient accumulation steps: 4
    #   Number of parameters: 1,879,048,192 / Estimated FLOPs per token: 1.207960e+10
    #   Calculated number of iterations from target data:param ratio: 71,680
    #   Total number of training tokens: 37,580,963,840 / Total training FLOPs estimate: 4.539628e+20
    d = 2048
    block = 12 * d * d  # 4 d^2 attention + 8 d^2 MLP
    assert 32 * block + 2 * 65536 * d == v0_params(32) == 1_879_048_192
    flops = 6 * (1_879_048_192 - 65536 * d) + 12 * 32 * 16 * 128 * 2048
    assert flops == v0_estimate_flops(32) == 12_079_595_520
    iters = 20 * 1_879_048_192 // 524_288
    assert iters == 71_680 and iters * 524_288 == 37_580_963_840

    r = run("v0", preset="run1000")  # run1000.sh: d32 on one 8XH100 node
    assert r.hardware == "H100 SXM"
    assert num(r, "vocab_size", "1") == 65_536
    assert (num(r, "model_dim", "1"), num(r, "n_head", "1"), num(r, "n_kv_head", "1")) == (2048, 16, 16)
    assert num(r, "micro_batch", "sequence") == 8 and num(r, "n_gpus", "1") == 8
    assert num(r, "grad_accum", "1") == 524_288 // (8 * 2048 * 8) == 4
    assert num(r, "n_params") == num(r, "n_params_reported") == 1_879_048_192
    assert num(r, "flops_per_token", "FLOP/token") == 12_079_595_520
    assert f"{num(r, 'flops_per_token', 'FLOP/token'):e}" == "1.207960e+10"
    assert num(r, "iters", "iteration") == 71_680
    assert num(r, "total_tokens", "token") == 37_580_963_840
    assert f"{num(r, 'model_flops', 'FLOP'):e}" == "4.539628e+20"
    assert num(r, "model_flops", "FLOP") == pytest.approx(12_079_595_520 * 37_580_963_840, rel=1e-15)


def test_v0_d20_is_the_561m_speedrun_model():
    # speedrun.sh L85: "The d20 model is 561M parameters."; README L29: "a 4e19 FLOPs ... model"
    n = v0_params(20)
    assert n == 20 * 12 * 1280**2 + 2 * 65536 * 1280 == 560_988_160
    tokens = (20 * n // 524_288) * 524_288  # 21,400 steps of 2**19 tokens
    assert tokens == 21_400 * 524_288
    flops = v0_estimate_flops(20) * tokens

    r = run("v0", preset="speedrun")
    assert num(r, "n_params") == 560_988_160 and f"{num(r, 'n_params') / 1e6:.0f}M" == "561M"
    assert num(r, "flops_per_token", "FLOP/token") == v0_estimate_flops(20) == 3_491_758_080
    assert num(r, "iters", "iteration") == 21_400
    assert num(r, "grad_accum", "1") == 1  # 32 sequences x 2048 tokens x 8 GPUs = 2**19
    assert num(r, "model_flops", "FLOP") == pytest.approx(flops, rel=1e-15)
    assert f"{flops:.0e}" == f"{num(r, 'model_flops', 'FLOP'):.0e}" == "4e+19"


def test_v0_flop_convention_counts_lm_head_but_not_wte():
    r = run("v0", depth=12)
    d, vocab = 768, 65536
    assert num(r, "n_params_wte") == vocab * d
    non_embedding = 12 * 12 * d * d + d * vocab  # blocks + lm_head
    assert num(r, "flops_per_token", "FLOP/token") == 6 * non_embedding + 12 * 12 * 6 * 128 * 2048
    # v0's eager count is the same number; through SDPA (flash) backward also recomputes Q K^T
    eager = run("v0", depth=12, attention="eager")
    assert num(eager, "flops_per_token_exact", "FLOP/token") == num(r, "flops_per_token", "FLOP/token")
    extra = 2 * 12 * 6 * 128 * 2048
    assert num(r, "flops_per_token_exact", "FLOP/token") == num(r, "flops_per_token", "FLOP/token") + extra


def test_v0_parameter_groups():
    r = run("v0", preset="d26")
    d, vocab = 1664, 65536
    assert num(r, "n_params_muon") == 26 * 12 * d * d
    assert num(r, "n_params_adamw_embedding") == vocab * d
    assert num(r, "n_params_adamw_unembedding") == d * vocab
    assert num(r, "n_params_adamw_scalar") == 0
    assert num(r, "n_params_scaling") == num(r, "n_params") == v0_params(26) == 1_081_999_360


def test_v0_d32_on_one_gpu_keeps_the_horizon():
    """A seed question: d32 on one RTX 4070. The batch stays 2**19 tokens: 256 micro-steps of one
    2048-token sequence; the number of steps does not depend on the GPUs."""
    r = run("v0", preset="d32", n_gpus=1, micro_batch=1)
    assert num(r, "grad_accum", "1") == 524_288 // 2048 == 256
    assert num(r, "iters", "iteration") == 71_680


# --- v0: what it rejects ----------------------------------------------------------------------


def test_v0_accepts_exactly_the_depths_its_assert_accepts():
    accepted = [depth for depth in range(1, 64) if v0_shape(depth)[0] % v0_shape(depth)[1] == 0]
    odd = [depth for depth in accepted if depth % 2]
    assert odd == [1, 3, 7, 15, 31, 63]  # depth + 1 divides 128
    for depth in (1, 2, 3, 7, 20, 26, 32, 63):
        assert num(run("v0", depth=depth, micro_batch=1), "model_dim", "1") == 64 * depth


@pytest.mark.parametrize("depth", [5, 9, 21, 25, 33])
def test_v0_rejects_odd_depths_with_the_upstream_reason(depth):
    d, heads, _ = v0_shape(depth)
    assert d % heads != 0
    with pytest.raises(UserError, match=r"n_embd % n_head == 0"):
        run("v0", depth=depth)


def test_v0_d21_preset_is_rejected_but_head_takes_it():
    with pytest.raises(UserError, match=r"d21 has model_dim 1344 and 11 heads"):
        run("v0", preset="d21")
    assert num(run("head", preset="d21"), "model_dim", "1") == 11 * 128


def test_v0_d127_has_an_odd_head_dim():
    # 64 * 127 = 8128 = 64 heads of 127: the assert passes, rotary's half split does not
    assert v0_shape(127) == (8128, 64, 127)
    with pytest.raises(UserError, match=r"head_dim must be even"):
        run("v0", depth=127, micro_batch=1)


def test_vocabulary_must_split_over_the_gpus():
    # DistAdamW reduce-scatters wte and lm_head by rows: 65,536 rows do not split over 3 GPUs
    with pytest.raises(UserError, match=r"split evenly over n_gpus"):
        run("v0", n_gpus=3, micro_batch=1, total_batch_size=3 * 2048 * 64)
    # head pads 50,257 to 50,304 = 786 x 64 rows, which 6 GPUs split
    r = run("head", depth=4, vocab_size=50257, n_gpus=6, micro_batch=1, total_batch_size=6 * 2048)
    assert num(r, "vocab_size_padded", "1") == 50304 and 50304 % 6 == 0
    with pytest.raises(UserError, match=r"split evenly over n_gpus"):
        run("v0", depth=4, vocab_size=50257, n_gpus=6, micro_batch=1, total_batch_size=6 * 2048)
    assert num(run("v0", preset="d32", n_gpus=1, micro_batch=8), "grad_accum", "1") == 32


def test_batch_must_be_whole_micro_steps():
    # 524,288 / (24 x 2048 x 8) = 1.33...: base_train asserts
    with pytest.raises(UserError, match=r"total_batch_size % \(micro_batch \* seq_len \* n_gpus\)"):
        run("v0", micro_batch=24)
    # whole numbers of micro-steps that are not powers of two pass: 3 x 2048 x 4 x 5 tokens
    r = run("head", depth=4, micro_batch=3, n_gpus=4, total_batch_size=3 * 2048 * 4 * 5)
    assert num(r, "grad_accum", "1") == 5


# --- head: sizes and counts -------------------------------------------------------------------


def head_shape(depth, aspect=64, head_dim=128):
    """base_train.py@92d63d4e8bb4 L133-L135: width rounded up to whole heads of head_dim."""
    heads = -(-depth * aspect // head_dim)
    return heads * head_dim, heads, head_dim


def head_counts(depth, vocab=32768):
    """gpt.py@92d63d4e8bb4, module by module; returns num_scaling_params()'s groups."""
    d, heads, hd = head_shape(depth)
    rows = -(-vocab // 64) * 64  # L170: padded to a multiple of 64
    ve_layers = [i for i in range(depth) if i % 2 == (depth - 1) % 2]  # L53-L55
    block = d * heads * hd + 2 * d * heads * hd + d * d + 4 * d * d + 4 * d * d
    gates = 12 * heads * len(ve_layers)  # ve_gate: Linear(12, n_kv_head)
    return {
        "wte": rows * d,
        "value_embeds": len(ve_layers) * rows * heads * hd,
        "lm_head": d * rows,
        "transformer_matrices": depth * block + gates,
        "scalars": depth + depth + 24 + 1 + 1,  # resid, x0, smear_gate, smear_lambda, backout
    }


def head_windows(depth, seq=2048, pattern="SSSL"):
    """_compute_window_sizes (L287-L314): S = a quarter of T up to a multiple of 128, last layer L."""
    short = math.ceil(math.ceil(seq / 4) / 128) * 128
    windows = [short if pattern[i % len(pattern)] == "S" else seq for i in range(depth)]
    windows[-1] = seq
    return windows


def head_estimate_flops(depth, vocab=32768, seq=2048, pattern="SSSL"):
    """estimate_flops (L319-L339): 6 x every Linear weight + 12 h q min(window, T) per layer."""
    _, heads, hd = head_shape(depth)
    c = head_counts(depth, vocab)
    matmul = c["transformer_matrices"] + c["lm_head"] + 24  # + smear_gate
    return 6 * matmul + sum(12 * heads * hd * min(w, seq) for w in head_windows(depth, seq, pattern))


def head_horizon(depth, ratio=12):
    """base_train.py@92d63d4e8bb4 L263-L283, L348-L350: tokens, Power Lines batch, steps."""
    scaling = lambda c: c["transformer_matrices"] + c["lm_head"]  # noqa: E731
    target = int(ratio * scaling(head_counts(depth)))
    d_ref = ratio * scaling(head_counts(12))
    batch = 2 ** round(math.log2(2**19 * (target / d_ref) ** 0.383))
    return target, batch, target // batch


def test_head_d12_counts():
    # d12 is head's reference model: 768 wide, 6 heads, 6 value-embedding layers
    c = head_counts(12)
    assert c["transformer_matrices"] == 12 * 12 * 768**2 + 6 * 12 * 6 == 84_935_088
    assert c["value_embeds"] == 6 * 32768 * 768
    r = run("head", depth=12, micro_batch=1)
    assert num(r, "n_params") == sum(c.values()) == 286_261_730


def test_head_d20_counts():
    c = head_counts(20)
    assert c == {
        "wte": 32768 * 1280,
        "value_embeds": 10 * 32768 * 1280,
        "lm_head": 1280 * 32768,
        "transformer_matrices": 20 * 12 * 1280**2 + 10 * 12 * 10,
        "scalars": 66,
    }
    r = run("head", preset="d20")
    assert num(r, "n_params") == num(r, "n_params_reported") == sum(c.values()) == 896_533_746
    assert num(r, "n_params_muon") == c["transformer_matrices"] == 393_217_200
    assert num(r, "n_params_adamw_embedding") == c["wte"] + c["value_embeds"]
    assert num(r, "n_params_adamw_unembedding") == c["lm_head"]
    assert num(r, "n_params_adamw_scalar") == 66
    assert num(r, "n_params_scaling") == 393_217_200 + 41_943_040 == 435_160_240
    # SSSL over 20 layers: 15 short (512 keys), 5 full (2048)
    assert sorted(head_windows(20)) == [512] * 15 + [2048] * 5
    attention = 12 * 10 * 128 * (15 * 512 + 5 * 2048)
    assert head_estimate_flops(20) == 6 * (435_160_240 + 24) + attention == 2_886_212_784
    assert num(r, "flops_per_token", "FLOP/token") == 2_886_212_784


@pytest.mark.parametrize("depth", [20, 21, 24, 26, 32])
def test_head_presets(depth):
    r = run("head", preset=f"d{depth}")
    d, heads, hd = head_shape(depth)
    assert (num(r, "model_dim", "1"), num(r, "n_head", "1"), num(r, "head_dim", "1")) == (d, heads, hd)
    assert num(r, "n_params") == sum(head_counts(depth).values())
    assert num(r, "flops_per_token", "FLOP/token") == head_estimate_flops(depth)
    target, batch, iters = head_horizon(depth)
    assert num(r, "target_tokens", "token") == target
    assert num(r, "total_batch_size", "token") == batch
    assert num(r, "iters", "iteration") == iters
    assert num(r, "total_tokens", "token") == iters * batch


def test_head_d32_horizon():
    target, batch, iters = head_horizon(32)
    assert (target, batch, iters) == (20_132_696_064, 2**21, 9_600)
    r = run("head", preset="d32", n_gpus=8)
    assert num(r, "grad_accum", "1") == 2**21 // (8 * 2048 * 8) == 16


def test_head_auto_batch_size_matches_the_log_table():
    # dev/LOG.md L247-L252: d8 -> 2**18; d10-16 -> 2**19; d18-26 -> 2**20; d32-50 -> 2**21, with
    # scaling params 42M (d8), 70M (d10), 235M (d16), 324M (d18), 918M (d26), 1.7B (d32), 6.2B (d50)
    table = {8: 2**18, 10: 2**19, 16: 2**19, 18: 2**20, 26: 2**20, 32: 2**21, 50: 2**21}
    printed = {8: "42M", 10: "70M", 16: "235M", 18: "324M", 26: "918M", 32: "1.7B", 50: "6.2B"}
    for depth, batch in table.items():
        r = run("head", depth=depth, micro_batch=1)
        assert num(r, "total_batch_size", "token") == batch == head_horizon(depth)[1]
        scaling = num(r, "n_params_scaling")
        shown = f"{scaling / 1e9:.1f}B" if scaling >= 1e9 else f"{scaling / 1e6:.0f}M"
        assert shown == printed[depth]
    # the rule is anchored at d12: B = 2**19 whatever the ratio
    for ratio in (4, 8.25, 12, 20):
        r = run("head", depth=12, target_param_data_ratio=ratio, micro_batch=1)
        assert num(r, "total_batch_size", "token") == 2**19


def test_head_speedrun_d24():
    """runs/speedrun.sh@92d63d4e8bb4 L29: --depth=24 --target-param-data-ratio=8 --device-batch-size=16."""
    target, batch, iters = head_horizon(24, ratio=8)
    r = run("head", preset="d24", target_param_data_ratio=8, n_gpus=8)
    assert num(r, "total_batch_size", "token") == batch == 2**20
    assert num(r, "iters", "iteration") == iters == 5_568
    assert num(r, "grad_accum", "1") == 2**20 // (16 * 2048 * 8) == 4


def test_horizon_and_batch_are_default_rules():
    r = run("head", preset="d20", iters=1000, total_batch_size=2**19, n_gpus=8)
    assert num(r, "iters", "iteration") == 1000
    assert num(r, "total_tokens", "token") == 1000 * 2**19
    assert num(r, "grad_accum", "1") == 1


def test_head_pads_the_vocabulary():
    r = run("head", vocab_size=50257, depth=4, micro_batch=1)
    assert num(r, "vocab_size_padded", "1") == 50304 == 786 * 64
    assert num(r, "n_params_wte") == 50304 * 256
    r = run("v0", vocab_size=50257, depth=4, micro_batch=1, n_gpus=1, total_batch_size=2048)
    assert num(r, "n_params_wte") == 50257 * 256


def test_head_window_patterns():
    for pattern in ("L", "SL", "SSL", "SSSL", "S"):
        for depth in (1, 2, 3, 4, 5, 7, 8, 13):
            r = run("head", depth=depth, window_pattern=pattern, micro_batch=1)
            short = sum(w < 2048 for w in head_windows(depth, pattern=pattern))
            assert num(r, "n_short_layers", "1") == short, (pattern, depth)
            assert num(r, "flops_per_token", "FLOP/token") == head_estimate_flops(depth, pattern=pattern)


def test_head_exact_count_is_dense_and_counts_the_smear_on_t_minus_1_tokens():
    r = run("head", preset="d20", attention="eager")
    c = head_counts(20)
    matmul = c["transformer_matrices"] + c["lm_head"]
    per_sequence = 6 * matmul * 2048 + 6 * 24 * 2047 + 12 * 20 * 10 * 128 * 2048 * 2048
    assert num(r, "flops_per_token_exact", "FLOP/token") * 2048 == pytest.approx(per_sequence, rel=1e-15)


# --- head: what it rejects --------------------------------------------------------------------


def test_head_rejections():
    with pytest.raises(UserError, match=r"T > 1"):
        run("head", seq_len=1, micro_batch=1)
    with pytest.raises(UserError, match=r"head_dim % 8 == 0"):
        run("head", target_head_dim=100, micro_batch=1)
    with pytest.raises(UserError, match=r"model_dim must be at least 24"):
        run("head", depth=1, aspect_ratio=16, target_head_dim=16, micro_batch=1)  # 16 wide
    with pytest.raises(UserError, match=r"n_head % n_kv_head == 0"):
        run("head", preset="d32", n_kv_head=5)
    # head d8's auto batch 2**18 is not a multiple of 32 x 2048 x 8 = 2**19 tokens
    assert head_horizon(8)[1] == 2**18
    with pytest.raises(UserError, match=r"total_batch_size"):
        run("head", depth=8, n_gpus=8)


def test_gqa_shrinks_k_v_and_value_embeddings():
    full, gqa = run("head", preset="d32"), run("head", preset="d32", n_kv_head=4)
    d, layers, rows = 2048, 32, 32768
    saved_kv = layers * 2 * d * (16 - 4) * 128
    saved_ve = 16 * rows * (16 - 4) * 128
    saved_gates = 16 * 12 * (16 - 4)
    assert num(full, "n_params") - num(gqa, "n_params") == saved_kv + saved_ve + saved_gates


def test_wide_v0_models_keep_exact_head_dims():
    """d98: 6272 = 49 heads of 128. The division must be exact (a float reciprocal gives 127.99...)."""
    assert v0_shape(98) == (6272, 49, 128)
    r = run("v0", depth=98, micro_batch=1)
    assert num(r, "head_dim", "1") == 128
    assert num(r, "n_params") == v0_params(98)
