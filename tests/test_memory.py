"""The memory model: golden numbers worked out by hand, and the questions users ask, by CLI and API.

Golden numbers are written out from the tensor lists in plugins/costmodel_memory (each list checked
against PyTorch by tests/validation/test_memory_activations.py); here they pin the formulas.
"""

from __future__ import annotations

import json

import pytest

from costmodel.api import estimate, solve
from costmodel.errors import UserError

GiB = 2**30

# the users' nanoGPT run (seeds 000/004): 12 layers of 384, 6 heads, GPT-2 vocabulary padded to
# 50304, 1024 tokens, micro-batch 16, 32 accumulation steps, on an RTX 4070
SEED = {"n_layer": 12, "n_embd": 384, "n_head": 6, "vocab_size": 50304, "seq_len": 1024, "micro_batch": 16,
        "gradient_accumulation_steps": 32, "grad_accum": 32}
# nanochat as its scripts train it, on one GPU (head: the d32 preset is v0 otherwise)
NANOCHAT = {"optimizer": "muon", "n_gpus": 1, "version": "head"}


def seed(**values):
    return estimate("nanogpt", hardware="rtx-4070", values={**SEED, **values}).results


def b(result, name: str) -> float:
    return result[name].m_as("byte")


# --- golden numbers --------------------------------------------------------------------------


def test_seed_run_weights_grads_and_adamw_states():
    n = 12 * (12 * 384**2 + 2 * 384) + (50304 + 1024 + 1) * 384  # nanoGPT's count, bias off
    r = seed()
    assert r["n_params"].m_as("param") == n == 40_953_216
    assert (b(r, "mem_weights"), b(r, "mem_grads"), b(r, "mem_optimizer")) == (4 * n, 4 * n, 8 * n)


def test_seed_run_activations_by_hand():
    """amp-bf16 with SDPA, per token and block: fp32 residual into both LayerNorms (2 x 4 d), their
    bf16 outputs (2 x 2 d), q k v (6 d), attention output (2 d), c_fc output and GELU output
    (2 x 8 d) = 36 d bytes, LayerNorm statistics 2 x 8, logsumexp 4 H."""
    d, tokens = 384, 16 * 1024
    layer = 36 * d + 16 + 4 * 6
    outside = 24 + (4 + 2) * d + 8 / 16  # ids, targets, ln_f input/output/stats, position ids
    copies = 2 * (12 * 12 * d**2 + 50304 * d)  # bf16 copy of every matmul weight (tied lm_head once)
    r = seed(compile=False)
    assert r["act_layer"].m_as("byte/token") == layer
    assert b(r, "mem_activations") == pytest.approx(tokens * (12 * layer + outside) + copies)


def test_seed_run_logits_eager_and_compiled():
    n = 16 * 1024 * 50304  # logit elements of one micro-batch
    eager, compiled = seed(compile=False), seed(compile=True)
    assert b(eager, "mem_logits_held") == 2 * n  # bf16 logits kept by train.py
    assert b(eager, "mem_logits_saved") == 4 * n  # fp32 log-softmax
    assert b(eager, "mem_logits_backward") == 8 * n  # nll and log_softmax gradients, fp32
    assert b(compiled, "mem_logits_saved") == 16 * 1024 * 8  # per-row max and logsumexp
    assert b(compiled, "mem_logits_backward") == 2 * n  # one bf16 gradient
    assert eager["peak_moment"].magnitude == compiled["peak_moment"].magnitude == 2  # loss backward


def test_seed_run_fits_only_compiled():
    """The seeds' answer ("10-11 GB, safe") is wrong both ways: compiled it peaks near 7 GiB; eager
    (compile=False) the logits alone take 10.7 GiB and it does not fit."""
    eager, compiled = seed(compile=False), seed(compile=True)
    assert compiled["fits"].magnitude == 1 and 6 * GiB < b(compiled, "mem_peak") < 8 * GiB
    assert eager["fits"].magnitude == 0 and b(eager, "mem_free") == 0 < b(eager, "mem_shortfall")
    logits = b(eager, "mem_logits") + b(eager, "mem_logits_backward")
    assert logits > 10 * GiB > 4 * b(eager, "mem_weights")


def test_peak_is_a_max_over_moments():
    r = seed()
    moments = [b(r, f"mem_moment_{m}") for m in ("forward", "loss", "backward", "end", "step")]
    assert b(r, "mem_tensors_peak") == max(moments)
    assert r["peak_moment"].magnitude == 1 + moments.index(max(moments))
    assert b(r, "mem_peak") == pytest.approx(b(r, "mem_tensors_peak") + b(r, "mem_overhead"))
    overhead = 287_047_680 + 8_519_680 + 1_048_576 + 0.05 * b(r, "mem_tensors_peak")
    assert b(r, "mem_overhead") == pytest.approx(overhead)


def test_eager_attention_stores_the_matrix():
    """Eager under autocast: fp32 softmax output + its bf16 cast per head and position pair."""
    flash, eager = seed(attention="flash"), seed(attention="eager")
    per_token = 6 * 1024 * (4 + 2)  # heads x keys x bytes
    assert eager["act_attention_matrix"].m_as("byte/token") == per_token
    diff = b(eager, "mem_activations") - b(flash, "mem_activations")
    assert diff == pytest.approx(16 * 1024 * 12 * (per_token - 4 * 6) + 12 * 1024**2)  # less lse, + masks


def test_checkpointing_trades_memory_for_flops():
    none, selective, full = (seed(checkpointing=c, attention="eager", iters=10) for c in ("none", "selective", "full"))
    assert b(full, "mem_activations") < b(selective, "mem_activations") < b(none, "mem_activations")
    assert none["recompute_flops_per_token"].magnitude == 0
    attention = 4 * 12 * 6 * 64 * 1024  # Q K^T and A V again
    assert selective["recompute_flops_per_token"].m_as("FLOP/token") == attention
    forward = none["flops_per_token"].m_as("FLOP/token") / 3 - 2 * 50304 * 384
    assert full["recompute_flops_per_token"].m_as("FLOP/token") == pytest.approx(forward)
    assert full["hardware_flops"] > full["model_flops"] == none["hardware_flops"]


def test_parallelism_shards_per_gpu_memory():
    values = {"n_gpus": 8, "gradient_accumulation_steps": 32, "grad_accum": 4}
    ddp, z1, z2, z3 = (seed(parallelism=p, **values) for p in ("ddp", "zero1", "zero2", "zero3"))
    n = ddp["n_params"].m_as("param")
    assert b(ddp, "mem_grad_buckets") == b(ddp, "mem_grads") == 4 * n  # DDP's second copy
    assert b(z1, "mem_optimizer") == 8 * n / 8
    assert b(z2, "mem_grads") == 4 * n / 8 and b(z3, "mem_weights") == 4 * n / 8
    assert b(ddp, "mem_static") > b(z1, "mem_static") > b(z2, "mem_static") > b(z3, "mem_static")


# --- nanochat: the recipes that make d32 fit a 12 GB card ------------------------------------


def d32(**values):
    return estimate("nanochat", preset="d32", hardware="rtx-4070",
                    values={**NANOCHAT, "micro_batch": 1, **values})


def test_nanochat_head_muon_step_is_the_peak_on_one_gpu():
    """MuonAdamW stacks every Muon gradient and parameter before writing back: two more fp32
    copies of the matrices at the optimizer step."""
    r = d32()
    matrices = r["n_params_matrices"].m_as("param")
    assert b(r, "mem_optimizer_step") == pytest.approx(2 * 4 * matrices + matrices / 3 * (2 + 2 + 4))
    assert r["peak_moment"].magnitude == 5


@pytest.mark.parametrize("recipe,fits", [
    ({}, False),
    ({"precision": "bf16"}, False),
    ({"optimizer": "adamw8bit"}, False),
    ({"checkpointing": "full"}, False),
    ({"weights": "nf4"}, True),
    ({"optimizer": "adamw8bit", "checkpointing": "full", "weights": "nf4"}, True),
])
def test_nanochat_d32_on_one_rtx_4070(recipe, fits):
    r = d32(**recipe)
    assert bool(r["fits"].magnitude) is fits
    assert (b(r, "mem_shortfall") == 0) is fits
    assert b(r, "mem_free") - b(r, "mem_shortfall") == pytest.approx(b(r, "gpu_memory_usable") - b(r, "mem_peak"))


def test_nanochat_v0_keeps_its_embedding_in_bf16():
    r = d32(version="v0")
    wte = r["n_params_wte"].m_as("param")
    assert r["n_params_lowp"].m_as("param") == wte
    assert b(r, "mem_weights") == 4 * (r["n_params"].m_as("param") - wte) + 2 * wte


# --- the nanochat d20 speedrun under torch.compile (issue 12) -----------------------------------
# v0 at micro-batch 32 and 2048 tokens on 8 GPUs, as speedrun.sh@3a5e0bc ran it on 8 x H100 80 GB


def speedrun(**values):
    return estimate("nanochat", preset="speedrun", values=values).results


def test_speedrun_block_by_hand_under_the_pinned_torch():
    """Compiled, torch < 2.12 (rms_norm bf16 under autocast), per token and block, d = q = k = 1280,
    10 heads, d_ff 5120, bf16: residual into both norms (2 x 2 d), the two normed inputs (2 x 2 d),
    rotary outputs into the QK norm (2 q + 2 k), SDPA's q, k, v and output (2 q + 2 k + 2 k + 2 q),
    c_fc's output and relu^2's (2 x 2 d_ff), the norms' fp32 rstd (2 x 4 + 4 x 20), logsumexp (4 x 10).
    Each kind was counted in the compiled graph (tests/validation/test_memory_compiled.py)."""
    d, heads, d_ff = 1280, 10, 5120
    layer = 4 * d + 4 * d + 4 * d + 8 * d + 4 * d_ff + 8 + 4 * 2 * heads + 4 * heads
    r = speedrun()
    assert r["act_layer"].m_as("byte/token") == layer == 46_208
    # torch 2.12 and later: the stream is fp32 (autocast upcasts rms_norm), 2 x 2 d more per token
    assert speedrun(autocast_rms_norm_fp32=True)["act_layer"].m_as("byte/token") == layer + 4 * d


def test_speedrun_loss_keeps_bf16_logits_and_their_gradient_side_by_side():
    tokens, vocab = 32 * 2048, 65536
    r = speedrun()
    assert b(r, "mem_logits_saved") == tokens * (2 * vocab + 8)
    assert b(r, "mem_logits_backward") == tokens * 2 * vocab  # 8 GiB, not written over the logits
    assert r["peak_moment"].magnitude == 2
    assert b(r, "mem_tensors_peak") == b(r, "mem_moment_loss")


def test_speedrun_fits_an_80_gb_h100_as_it_ran():
    """It ran on 8 x H100 80 GB (speedrun.sh@3a5e0bc); nanochat sets expandable segments, so the
    overhead is the CUDA context, the cuBLAS workspaces and the NCCL communicator (688 MB for more
    than 2 GPUs, NVIDIA/nccl#964); no allocator slack."""
    r = speedrun()
    assert r["fits"].magnitude == 1
    assert b(r, "mem_overhead") == 287047680 + 8519680 + 1048576 + 688e6
    # free = nvidia-smi's 81,559 MiB (hardware/h100-sxm.toml) - the tensors' peak - that overhead; the tensors' peak
    # is held to the measured speedrun peak (test below), so the free memory is no number read off the output
    usable = 81_559 * 2**20
    assert b(r, "mem_free") == pytest.approx(usable - b(r, "mem_tensors_peak") - b(r, "mem_overhead"))
    assert b(r, "mem_free") > 0
    assert r["memory_verdict"].magnitude == 1


def test_speedrun_peak_against_the_field_runs():
    """P08: speedrun.sh's base_train (d20, micro-batch 32) on 8 x H100 80 GB, torch 2.8, printed 'Peak memory usage:
    75422.02MiB' (torch.cuda.max_memory_allocated() / 2**20; royam0820/nanochat-speedrun-001 report.md and
    theogbrand/nanochat run2.md, the same figure); P02's 8 x A100 card says '75.4 GiB', the same figure divided by
    1000. costmodel's tensor peak is 3 % above it: within the issue's 10 %, on the safe side."""
    measured = 75_422.02 * 2**20
    for card in ("h100-sxm", "a100-80gb-sxm"):
        r = estimate("nanochat", preset="d20", hardware=card, values={"n_gpus": 8, "micro_batch": 32})
        assert 1.0 < b(r, "mem_tensors_peak") / measured < 1.05


def test_nccl_communicator_only_when_distributed():
    """NVIDIA/nccl#964: a communicator with an all-reduce takes 544 MB per GPU for 2 GPUs, 688 MB for more."""
    one, two, eight = (estimate("nanogpt", preset="gpt2", hardware="h100-sxm", values={"n_gpus": n}).results
                       for n in (1, 2, 8))
    assert b(one, "mem_nccl") == 0
    assert b(two, "mem_nccl") == 544e6
    assert b(eight, "mem_nccl") == 688e6
    assert b(eight, "mem_overhead") == pytest.approx(287047680 + 8519680 + 1048576 + 688e6
                                                     + 0.05 * b(eight, "mem_tensors_peak"))


def test_rotary_on_a_fused_qkv_keeps_the_rotated_q_and_k_beside_it():
    """GPT-2 124M with rotary positions (modded-nanogpt@e5b254f): per token and layer, SDPA saves the rotated
    q and k (768 each, bf16) while v, a view, keeps the whole c_attn output: 2 x 768 x 2 = 3072 bytes more
    than with learned positions. With separate q, k, v projections (nanochat, llama) nothing is added."""
    modded = {"vocab_size": 50304, "bias": False, "compile": True, "norm": "rmsnorm", "norm_weight": False,
              "mlp": "relu2"}
    rotary = estimate("nanogpt", preset="gpt2", values={**modded, "positions": "rotary"}).results
    learned = estimate("nanogpt", preset="gpt2", values={**modded, "positions": "learned"}).results
    assert rotary["act_rotary"].m_as("byte/token") == 3072
    assert learned["act_rotary"].m_as("byte/token") == 0
    assert rotary["act_layer"].m_as("byte/token") - learned["act_layer"].m_as("byte/token") == 3072
    assert speedrun()["act_rotary"].m_as("byte/token") == 0  # nanochat: c_q, c_k, c_v apart


def test_memory_interval_is_a_prediction_interval_of_the_runs():
    """Four ratios measured / predicted, by hand: logs -0.02840, -0.00592, 0.00399, 0.04688 (mean 0.004140,
    sample sd 0.031554); t(3 df, 0.90) = 1.638; half-width 1.638 x 0.031554 x sqrt(5/4) = 0.057786;
    exp(0.004140 -/+ 0.057786) = 0.9478, 1.0639. The 10th-90th percentile of the same four would be
    0.9786-1.0348, narrower than the four runs themselves."""
    from costmodel_time.intervals import memory_band

    band = memory_band([("a", 0.972), ("b", 0.9941), ("c", 1.004), ("d", 1.048)])
    assert band.low == pytest.approx(0.9478, abs=2e-4)
    assert band.high == pytest.approx(1.0639, abs=2e-4)
    assert band.runs == 4


def test_expandable_segments_drop_the_allocator_slack():
    plain = estimate("nanogpt", preset="gpt2", hardware="h100-sxm").results
    expandable = estimate("nanogpt", preset="gpt2", hardware="h100-sxm", values={"expandable_segments": True}).results
    assert b(plain, "mem_overhead") == pytest.approx(287047680 + 8519680 + 1048576 + 0.05 * b(plain, "mem_tensors_peak"))
    assert b(expandable, "mem_overhead") == 287047680 + 8519680 + 1048576
    assert b(expandable, "mem_tensors_peak") == b(plain, "mem_tensors_peak")


# --- the questions, by CLI -------------------------------------------------------------------


MAX_BATCH = ["--maximize", "micro_batch", "--subject-to", "mem_peak <= gpu_memory_usable"]


def test_cli_largest_micro_batch_for_gpt2(cli):
    code, out, err = cli("solve", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", *MAX_BATCH, "--json")
    assert code == 0, err
    data = json.loads(out)
    best = data["inputs"]["micro_batch"]["value"]
    assert best == int(best) >= 1 and 480 % best == 0  # 12 x 40 sequences per step, kept
    assert data["results"]["fits"]["value"] == 1
    assert data["results"]["tokens_per_iter"]["value"] == 12 * 40 * 1024
    bigger = min(d for d in range(int(best) + 1, 481) if 480 % d == 0)
    over = estimate("nanogpt", preset="gpt2", hardware="rtx-4070",
                    values={"micro_batch": bigger, "grad_accum": 480 // bigger})
    assert over.results["fits"].magnitude == 0


def test_cli_says_when_nothing_fits(cli):
    code, out, err = cli("solve", "nanochat", "--preset", "d32", "-H", "rtx-4070",
                         "--set", "optimizer=muon", "--set", "n_gpus=1", *MAX_BATCH)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "even at micro_batch = 1" in err and "needs mem_peak" in err


def test_cli_recipes_make_d32_fit(cli):
    sets = ["n_gpus=1", "optimizer=adamw8bit", "checkpointing=full", "weights=nf4"]
    args = [a for s in sets for a in ("--set", s)]
    code, out, err = cli("solve", "nanochat", "--preset", "d32", "-H", "rtx-4070", *args, *MAX_BATCH, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["inputs"]["micro_batch"]["value"] >= 1
    assert data["results"]["fits"]["value"] == 1 and data["results"]["mem_shortfall"]["value"] == 0


def test_api_largest_micro_batch_any_family():
    values = {k: v for k, v in SEED.items() if k != "micro_batch"}
    r = solve("nanogpt", hardware="rtx-4070", maximize="micro_batch", values={**values, "compile": False},
              subject_to=["mem_peak <= gpu_memory_usable"])
    best = r.inputs["micro_batch"].magnitude
    assert r.results["fits"].magnitude == 1 and best < 16  # eager: the users' 16 does not fit
    with pytest.raises(UserError, match="no micro-batch meets"):
        solve("nanochat", preset="d32", hardware="rtx-4070", maximize="micro_batch", values=NANOCHAT,
              subject_to=["mem_peak <= gpu_memory_usable"])


# --- the features: the families' declarations agree with their own counts --------------------


@pytest.mark.parametrize("family,values", [
    ("nanogpt", {}), ("nanogpt", {"bias": True, "n_layer": 3, "n_embd": 96, "n_head": 4, "vocab_size": 65}),
    ("nanochat", {"version": "v0"}), ("nanochat", {"version": "head"}), ("nanochat", {"version": "head", "depth": 7, "n_gpus": 1}),
])
def test_parameter_groups_of_the_features_add_up_to_the_familys_count(family, values):
    """The core plugin's groups, from the features the family declares, against the family's own
    n_params (validated exactly against PyTorch in tests/validation)."""
    r = estimate(family, values=values).results
    groups = sum(r[g].m_as("param") for g in ("n_params_matrices", "n_params_embeddings", "n_params_lm_head",
                                              "n_params_positions", "n_params_vectors"))
    assert groups == r["n_params"].m_as("param")


def test_flops_of_the_features_match_nanogpts_exact_count():
    """6 per matmul weight and token + 14 L H hd T (SDPA) is nanoGPT's FlopCounterMode count."""
    r = estimate("nanogpt", preset="gpt2").results
    d, n_layer, vocab, t = 768, 12, 50257, 1024
    assert r["n_params_matmul_weights"].m_as("param") == 12 * n_layer * d**2 + vocab * d
    assert r["flops_per_token_exact"].m_as("FLOP/token") == 6 * (12 * n_layer * d**2 + vocab * d) + 14 * n_layer * d * t


TINYLLAMA = """
[family]
name = "tinyllama-shape"
doc = "TinyLlama 1.1B's shape"
source = "TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json (hidden_size 2048, intermediate_size 5632, 22 layers, 32 heads, 4 key/value heads, vocab 32000)"
[defaults]
n_layer = 22
d_model = 2048
n_head = 32
n_kv_head = 4
head_dim = 64
d_ff = 5632
vocab_size = 32000
mlp = "swiglu"
norm = "rmsnorm"
positions = "rotary"
tied_embeddings = false
seq_len = 2048
micro_batch = 1
iters = 1000
"""


def test_tinyllama_shape_declared_in_toml(tmp_path, cli):
    """The shape that once made a GPT-2 formula negative: declared, every count is the model's."""
    path = tmp_path / "tinyllama.toml"
    path.write_text(TINYLLAMA)
    r = estimate("tinyllama-shape", hardware="rtx-4090", plugins=[str(path)])
    block = 2 * 2048 * 2048 + 2 * 2048 * 256 + 3 * 2048 * 5632
    n = 22 * block + 2 * 32000 * 2048 + 22 * 2 * 2048 + 2048
    assert n == 1_100_048_384  # the 1.1B of the model card
    assert r["n_params"].m_as("param") == n
    assert r["n_params_small"].m_as("param") == 22 * 2 * 2048 + 2048 >= 0
    assert r["mem_peak"].m_as("byte") > r["mem_weights"].m_as("byte") == 4 * n
    assert not r.warnings
    code, out, err = cli("explain", "tinyllama-shape", "--plugin", str(path), "-H", "rtx-4090", "--target", "wall_time")
    assert code == 0, err
    assert "wall_time" in out


def test_distmuon_step_needs_one_stack_nccl_makes_of_its_lists():
    """nanochat v0's DistMuon (muon.py@fae3aca L127-L187) hands reduce_scatter a list of 8 gradients and
    all_gather a list of 8 parameters per call; ProcessGroupNCCL stacks each list into a new tensor. All are
    queued before the first completes, but a stack freed while its collective runs is reclaimed before an
    allocation fails (the allocator waits for the NCCL stream), so the step needs one stack of the largest
    shape. By hand for d32 on 8 GPUs (32 layers of 2048, vocabulary 65536):"""
    r = estimate("nanochat", preset="d32", hardware="h100-sxm",
                 values={"version": "v0", "n_gpus": 8, "micro_batch": 8}).results
    d, vocab = 2048, 65536
    stack = 8 * (4 * d) * d * 4  # eight c_fc gradients (4d x d), fp32
    newton_schulz = (4 * (4 * d) * d + 2 * d * d) * 2  # one 4d x d matrix at a time in bf16
    adamw_slices = (2 * vocab * d * 2 + 2 * vocab * d * 4) / 8  # bf16 wte and fp32 lm_head, 1/8 per rank
    assert stack == 512 * 2**20
    assert b(r, "mem_optimizer_step") == pytest.approx(stack + newton_schulz + adamw_slices)
    # the step (static + gradients + these) stays far below the loss's backward: the peak is unchanged
    assert r["peak_moment"].magnitude == 2
    assert b(r, "mem_moment_step") < 0.5 * b(r, "mem_moment_loss")


def test_run1000_nvidia_smi_figure_bounds_the_d32_peak_from_above():
    """run1000.sh@fae3aca L40-L42: d32 at micro-batch 8 on 8 x H100 'fits', nvidia-smi 'about 78/80GB'. nvidia-smi
    prints MiB and shows the card as 81559MiB (the '80GB'), so the 78 is 78,000 MiB = 76.17 GiB. What it shows
    is the allocator's reserved memory plus the context and NCCL: at least the peak, so costmodel's peak must lie
    below it (and below the card)."""
    nvidia_smi = 78_000 * 2**20
    assert nvidia_smi / GiB == pytest.approx(76.17, abs=0.01)
    r = estimate("nanochat", preset="d32", hardware="h100-sxm",
                 values={"version": "v0", "n_gpus": 8, "micro_batch": 8}).results
    assert b(r, "mem_peak") < nvidia_smi < 81559 * 2**20
    assert r["fits"].magnitude == 1


def test_every_out_of_memory_and_fits_report_gets_a_right_verdict():
    """docs/validation.md's Memory table (regenerated by benchmarks/validation_table.py, kept current by
    tests/test_time.py): each public OOM report must read 'does not fit' or 'borderline', each 'it fits/runs'
    report 'fits' or 'borderline'."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    table = doc.split("### Memory", 1)[1].split("<!-- validation-table:end -->", 1)[0]
    verdict_rows = [line for line in table.splitlines() if "| right |" in line or "| **wrong** |" in line]
    assert len(verdict_rows) >= 8
    assert all("| right |" in line for line in verdict_rows)
