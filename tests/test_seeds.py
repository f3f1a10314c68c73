"""Each user question of the seeds (../shared/seeds/), asked as one command: its first lines say what
the user must know (feasible or not, how many of which card, pre-training or fine-tuning), and its
numbers agree with values computed here by hand from nanoGPT's and nanochat's own code.

The seeds' own numbers are NOT expected values (several are wrong); the expected values below are
derived in the comments.
"""

from __future__ import annotations

import json

import pytest

from costmodel import api

# the seeds' nanoGPT run (000, 001, 004): config file as the users wrote it
CONFIG = """\
out_dir = 'out-fineweb'
eval_interval = 500
eval_iters = 200
log_interval = 10
dataset = 'fineweb'
gradient_accumulation_steps = 32
batch_size = 16
block_size = 1024
n_layer = 12
n_head = 6
n_embd = 384
dropout = 0.0
learning_rate = 6e-4
max_iters = 20000
compile = True
"""
GIB = 2**30
RTX_4070_BF16 = 58.3e12  # FLOP/s dense, FP32 accumulate (hardware/rtx-4070.toml)
RTX_4070_POWER = 200.0  # W board power


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "train_fineweb_4070.py"
    path.write_text(CONFIG)
    return str(path)


def first_lines(out: str, n: int = 2) -> list[str]:
    return out.splitlines()[:n]


# --- by hand: the 40.56M model ----------------------------------------------------------------
L, H, D, V, T = 12, 6, 384, 50304, 1024  # 'fineweb' has no meta.pkl: GPT-2's vocabulary padded to 50304
N = L * (12 * D * D + 2 * D) + (V + T + 1) * D  # model.py: blocks, LayerNorms, wte, wpe, ln_f
N_REPORTED = N - T * D  # get_num_params() leaves out wpe
FLOPS_PER_TOKEN = 6 * N_REPORTED + 12 * L * H * (D // H) * T  # estimate_mfu, PaLM appendix B
TOKENS_PER_ITER = 16 * 1024 * 32


def test_the_model_by_hand_is_the_seeds_40_56m():
    assert N_REPORTED == 40_560_000  # the "40.56M" nanoGPT prints, which the seed quotes
    assert TOKENS_PER_ITER == 524_288


def test_seed_000_nanogpt_on_an_rtx_4070(cli, config):
    code, out, err = cli("estimate", "nanogpt", "--config", config, "-H", "rtx-4070")
    assert code == 0, err
    head, memory = first_lines(out)
    assert head.startswith("nanogpt train_fineweb_4070 (") and "on 1x RTX 4070: pre-training" in head
    assert memory.startswith("fits: one GPU needs ")
    assert "learning_rate, log_interval, out_dir" in err  # read, not modelled, and said so
    for topic in ("model:", "tokens and FLOPs:", "memory:", "time:", "energy and money:"):
        assert topic in out

    r = api.estimate("nanogpt", config=config, hardware="rtx-4070")
    iters = 20_000 + 1  # train.py runs steps 0..max_iters
    assert r["n_params"].m_as("param") == N
    assert r["n_params_reported"].m_as("param") == N_REPORTED
    assert r["tokens_per_iter"].m_as("token/iteration") == TOKENS_PER_ITER
    assert r["total_tokens"].m_as("token") == TOKENS_PER_ITER * iters
    model_flops = FLOPS_PER_TOKEN * TOKENS_PER_ITER * iters
    assert r["model_flops"].m_as("FLOP") == pytest.approx(model_flops, rel=1e-12)
    assert model_flops / 2.55e15 > 1000  # the seed's "2.55e15 FLOPs" is off by a factor > 1000
    # time: never faster than the card's peak; memory fits with room; energy below board power
    wall = r["wall_time"].m_as("s")
    assert wall > model_flops / RTX_4070_BF16
    assert r.feasible and r["mem_peak"].m_as("byte") < 12 * GIB
    assert r["energy"].m_as("kWh") < RTX_4070_POWER * wall / 3.6e6
    assert r["eval_interval"].m_as("iteration") == 500 and r["eval_iters"].magnitude == 200


def test_seed_001_the_same_with_max_iters_6000(cli, config):
    code, out, err = cli("estimate", "nanogpt", "--config", config, "--max_iters=6000", "-H", "rtx-4070",
                         "--target", "iters", "--target", "total_tokens", "--target", "wall_time")
    assert code == 0, err
    assert "on 1x RTX 4070: pre-training" in first_lines(out)[0]
    r = api.estimate("nanogpt", config=config, config_overrides=["--max_iters=6000"], hardware="rtx-4070")
    assert r["iters"].m_as("iteration") == 6001
    assert r["total_tokens"].m_as("token") == TOKENS_PER_ITER * 6001
    # the seed's 80-120 ms per step would need more than the card's peak
    step_flops = FLOPS_PER_TOKEN * TOKENS_PER_ITER
    assert step_flops / 0.120 > RTX_4070_BF16
    assert r["iter_time"].m_as("s/iteration") > step_flops / RTX_4070_BF16
    # the same question in the seed's own words: --set max_iters, and the flag without a config
    by_name = api.estimate("nanogpt", config=config, hardware="rtx-4070", values={"max_iters": 6000})
    assert by_name["total_tokens"] == r["total_tokens"]


D32_PARAMS = 1_879_048_192  # run1000.sh@fae3aca9519a: "Number of parameters: 1,879,048,192"


def test_seed_002_d32_on_one_rtx_4070_does_not_fit_and_says_so(cli):
    code, out, err = cli("estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070")
    assert code == 0, err
    head, memory = first_lines(out)
    assert head == "nanochat d32 (1.879B param, v0) on 1x RTX 4070: pre-training"
    assert memory.startswith("DOES NOT FIT: one GPU needs ")
    assert "short by" in memory and "the largest item is" in memory and "costmodel plan" in memory
    assert "DOES NOT FIT" not in err  # said once, in the answer, not again on stderr
    code, _, err = cli("estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--json")
    assert code == 0 and err.startswith("warning: DOES NOT FIT")  # beside JSON, stderr says it
    r = api.estimate("nanochat", preset="d32", hardware="rtx-4070")
    assert not r.feasible and r.warnings[0].startswith("DOES NOT FIT")
    assert r["n_params"].m_as("param") == D32_PARAMS
    assert r["n_gpus"].magnitude == 1
    # its time on one card: never faster than the card's peak
    model_flops = 12_079_595_520 * 37_580_963_840  # run1000.sh: FLOPs per token x tokens
    assert r["model_flops"].m_as("FLOP") == pytest.approx(model_flops, rel=1e-12)
    assert r["wall_time"].m_as("s") > model_flops / RTX_4070_BF16


@pytest.mark.parametrize("recipe, kind, fits", [
    (("optimizer=adamw8bit",), "pre-training", False),
    (("optimizer=adamw8bit", "checkpointing=full"), "pre-training", False),
    (("optimizer=adamw8bit", "checkpointing=full", "weights=nf4"), "fine-tuning", True),
])
def test_seed_003_which_recipe_is_pre_training(cli, recipe, kind, fits):
    sets = [a for s in recipe for a in ("--set", s)]
    code, out, err = cli("estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070", *sets, "--set", "micro_batch=1")
    assert code == 0, err
    head, memory = first_lines(out)
    assert f"on 1x RTX 4070: {kind}" in head
    for s in recipe:
        assert s in head  # the recipe that differs from nanochat's defaults
    assert memory.startswith("fits:" if fits else "DOES NOT FIT")
    if kind == "fine-tuning":
        assert "trains 9.437M param of 1.879B param" in head  # LoRA r=8 adapters: 8 x 36,864 rows x 32 layers


def test_seed_003_tokens_in_30_days_is_marked_infeasible(cli):
    code, out, err = cli("solve", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--find", "total_tokens",
                         "--given", "wall_time=30 day")
    assert code == 0, err
    assert "DOES NOT FIT" in first_lines(out)[1]
    answer = next(line for line in out.splitlines() if line.startswith("total_tokens = "))
    assert answer.endswith("(INFEASIBLE: the step does not fit in memory)")
    code, out, err = cli("solve", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--find", "total_tokens",
                         "--given", "wall_time=30 day", "--json")
    data = json.loads(out)
    assert data["answer"] == "total_tokens" and data["feasible"] is False
    assert data["warnings"][0].startswith("DOES NOT FIT")
    # 30 days at no more than the card's peak: an upper bound by hand
    tokens = data["results"]["total_tokens"]["value"]
    assert tokens < 30 * 86400 * RTX_4070_BF16 / 12_079_595_520


def test_seed_002_h100s_for_a_day(cli):
    code, out, err = cli("solve", "nanochat", "--preset", "d32", "-H", "h100-sxm", "--find", "n_gpus",
                         "--given", "wall_time=24 h")
    assert code == 0, err
    assert first_lines(out)[0] == "nanochat d32 (1.879B param, v0) on 16x H100 SXM: pre-training"
    assert "n_gpus = 16" in out
    # why not fewer: 8 take longer than a day; 9-15 cannot split 2**19 tokens of 8 x 2048 sequences
    assert "n_gpus = 8 gives wall_time = " in err and "n_gpus = 9-15 would break the family's rule" in err
    assert 2**19 % (8 * 2048 * 8) == 0 and all(2**19 % (8 * 2048 * n) for n in range(9, 16))


def test_seed_002_the_published_run_and_its_cost(cli):
    code, out, err = cli("estimate", "nanochat", "--preset", "run1000", "--set", "gpu_hour_price=3 USD/h")
    assert code == 0, err
    assert first_lines(out)[0] == "nanochat run1000 (1.879B param, v0) on 8x H100 SXM: pre-training"
    r = api.estimate("nanochat", preset="run1000", values={"gpu_hour_price": "3 USD/h"})
    hours = r["wall_time"].m_as("h")
    assert r["cloud_cost"].m_as("USD") == pytest.approx(3 * 8 * hours, rel=1e-12)
    assert "energy_cost" not in out  # a cloud price pays for the power: no home electricity bill
    # run1000.sh: 71,680 steps of ~1.574 s = 31.3 h; costmodel within 15 %
    assert abs(r["iter_time"].m_as("s/iteration") / 1.574 - 1) < 0.15


def test_seed_003_electricity_in_taiwan_dollars(cli):
    code, out, err = cli("estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--set", "micro_batch=1",
                         "--set", "optimizer=adamw8bit", "--set", "checkpointing=full", "--set", "weights=nf4",
                         "--set", "electricity_price=3.5 TWD/kWh")
    assert code == 0, err
    r = api.estimate("nanochat", preset="d32", hardware="rtx-4070",
                     values={"micro_batch": 1, "optimizer": "adamw8bit", "checkpointing": "full",
                             "weights": "nf4", "electricity_price": "3.5 TWD/kWh"})
    kwh = r["energy"].m_as("kWh")
    assert r["energy_cost"].m_as("USD") == pytest.approx(kwh * 3.5 / 32.75, rel=1e-9)  # 32.75 TWD per USD
    line = next(x for x in out.splitlines() if x.strip().startswith("energy_cost"))
    assert "TWD" in line


def test_every_seed_command_starts_with_the_scenario_line(cli, config):
    commands = [
        ("estimate", "nanogpt", "--config", config, "-H", "rtx-4070"),
        ("estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070"),
        ("solve", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--find", "total_tokens", "--given",
         "wall_time=30 day"),
    ]
    for args in commands:
        code, out, err = cli(*args)
        assert code == 0, err
        assert " on 1x RTX 4070: " in out.splitlines()[0]
