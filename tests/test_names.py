"""The scenario the user named and the names people use: GPU counts with the card, run presets,
published versions, the families' own names (aliases, flags, --args), contradictions refused,
currencies and months, `costmodel families FAMILY`, the summary, --target/--all, fits=1."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import api, naming
from costmodel.errors import UserError

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def one_line_error(cli, *args, contains: str = ""):
    code, out, err = cli(*args)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert contains in err
    return err


# --- how many of which card ------------------------------------------------------------------


def test_one_gpu_unless_said_otherwise():
    assert api.estimate("nanochat", preset="d20", hardware="h100-sxm")["n_gpus"].magnitude == 1
    assert api.estimate("nanogpt", preset="gpt2", hardware="h100-sxm")["n_gpus"].magnitude == 1


@pytest.mark.parametrize("text", ["8xh100-sxm", "8x h100-sxm", "8 x H100 SXM", "8×h100-sxm", "8*h100-sxm"])
def test_a_count_with_the_card(text):
    r = api.estimate("nanochat", preset="d20", hardware=text)
    assert r.hardware == "H100 SXM" and r["n_gpus"].magnitude == 8
    assert r.scenario_line.startswith("nanochat d20 (") and " on 8x H100 SXM: " in r.scenario_line


def test_gpus_option_and_conflicts(cli):
    code, out, err = cli("estimate", "nanochat", "--preset", "d20", "-H", "h100-sxm", "--gpus", "8",
                         "--target", "tokens_per_iter")
    assert code == 0, err and " on 8x H100 SXM" in out.splitlines()[0]
    one_line_error(cli, "estimate", "nanochat", "-H", "4xh100-sxm", "--gpus", "8", contains="two different GPU counts")
    one_line_error(cli, "estimate", "nanochat", "-H", "0xh100-sxm", contains="at least 1")


def test_run_presets_carry_card_count_and_version():
    run = api.estimate("nanochat", preset="speedrun")
    assert (run.hardware, run["n_gpus"].magnitude, run.inputs["version"]) == ("H100 SXM", 8, "v0")
    assert run["n_params"].m_as("param") == 560_988_160  # speedrun.sh: "The d20 model is 561M parameters"
    mine = api.estimate("nanochat", preset="run1000", hardware="rtx-4090")
    assert mine.hardware == "RTX 4090" and mine["n_gpus"].magnitude == 8  # the user's card replaces it
    gpt2 = api.estimate("nanogpt", preset="train_gpt2")
    assert gpt2.hardware == "A100 40GB SXM" and gpt2["n_gpus"].magnitude == 8
    assert gpt2["tokens_per_iter"].m_as("token/iteration") == 12 * 1024 * 40  # 491,520 (train_gpt2.py L10)


def test_published_model_presets_carry_their_version():
    d32 = api.estimate("nanochat", preset="d32")
    assert d32.inputs["version"] == "v0" and d32["n_params"].m_as("param") == 1_879_048_192
    head = api.estimate("nanochat", preset="d32", values={"version": "head"})
    assert head.inputs["version"] == "head" and head["n_params"].m_as("param") > 2.5e9


# --- the families' own names ---------------------------------------------------------------


def test_nanogpt_names_as_aliases():
    r = api.estimate("nanogpt", values={"batch_size": 8, "block_size": 512, "dtype": "float16",
                                        "gradient_accumulation_steps": 4, "max_iters": 99, "compile": False})
    assert r["micro_batch"].magnitude == 8 and r["seq_len"].magnitude == 512
    assert r.inputs["precision"] == "amp-fp16" and r.inputs["compile"] is False
    assert r["iters"].magnitude == 100 and r["tokens_per_iter"].magnitude == 8 * 512 * 4


def test_nanogpt_flags_without_a_config(cli):
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "--max_iters=6000", "--batch_size=8",
                         "--target", "iters", "--target", "micro_batch")
    assert code == 0, err
    assert "6,001 iteration" in out and "8 sequence" in out


def test_nanochat_names_and_args():
    r = api.estimate("nanochat", values={"device_batch_size": 4, "num_iterations": 100, "max_seq_len": 1024})
    assert r["micro_batch"].magnitude == 4 and r["iters"].magnitude == 100 and r["seq_len"].magnitude == 1024
    for args in ("--depth=26 --device_batch_size=16", "--depth 26 --device-batch-size 16 --run=dummy"):
        r = api.estimate("nanochat", args=args, values={"version": "v0"})
        assert r["depth"].magnitude == 26 and r["micro_batch"].magnitude == 16


def test_nanochat_args_on_the_command_line(cli):
    code, out, err = cli("estimate", "nanochat", "--args", "--depth=26 --device_batch_size=16 --run=x",
                         "-H", "8xh100-sxm", "--target", "n_params")
    assert code == 0, err
    assert "flags: read but not modelled (no cost depends on them): run" in err
    one_line_error(cli, "estimate", "nanochat", "--args", "--depht=26", contains="did you mean: depth")


def test_contradictions_are_refused(cli):
    with pytest.raises(UserError, match="contradicts"):
        api.estimate("nanogpt", values={"micro_batch": 8, "batch_size": 16})
    with pytest.raises(UserError, match="grad_accum = 4 contradicts gradient_accumulation_steps = 8"):
        api.estimate("nanogpt", values={"grad_accum": 4, "gradient_accumulation_steps": 8})
    with pytest.raises(UserError, match="iters = 10 contradicts max_iters = 99"):
        api.estimate("nanogpt", values={"iters": 10, "max_iters": 99})
    agreed = api.estimate("nanogpt", values={"grad_accum": 8, "gradient_accumulation_steps": 8, "micro_batch": 8,
                                             "batch_size": 8})
    assert agreed["grad_accum"].magnitude == 8
    one_line_error(cli, "estimate", "nanogpt", "--set", "micro_batch=8", "--set", "batch_size=16",
                   contains="contradicts")


def test_only_inputs_a_family_rule_could_rename_are_recomposed_without(monkeypatch):
    """The contradiction check composes the scenario again without a given input only when some
    family's default rule defines that name (grad_accum, iters, ...): eight recipe and run inputs
    besides grad_accum cost one extra composition, not nine."""
    from costmodel import api as api_module

    calls = []
    real = api_module.compose
    monkeypatch.setattr(api_module, "compose", lambda *a, **k: calls.append(1) or real(*a, **k))
    values = {"precision": "bf16", "optimizer": "adamw", "checkpointing": "none", "attention": "flash",
              "micro_batch": 4, "seq_len": 512, "n_gpus": 2, "dropout": 0.1, "grad_accum": 5}
    api.scenario("nanogpt", preset="gpt2", hardware="h100-sxm", values=values)
    assert len(calls) == 2


def test_config_maps_evaluation_and_dropout():
    r = api.estimate("nanogpt", preset="shakespeare-char", hardware="rtx-4070")
    # train_shakespeare_char.py: eval_interval 250, eval_iters 200, dropout 0.2: 21 evaluations of
    # 2 x 200 forward passes, at step 0 and every 250 of the 5001 steps
    assert r["eval_interval"].m_as("iteration") == 250 and r["eval_iters"].magnitude == 200
    assert r.inputs["dropout"].magnitude == 0.2
    assert r["eval_time"].m_as("s") > 0 and r["wall_time"].m_as("s") > r["eval_time"].m_as("s")


# --- units ---------------------------------------------------------------------------------------


def test_month_and_currencies():
    usd = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", values={"electricity_price": "0.3 USD/kWh"})
    eur = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", values={"electricity_price": "0.3 EUR/kWh"})
    assert eur["energy_cost"].m_as("USD") == pytest.approx(usd["energy_cost"].m_as("USD") * 1.0411, rel=1e-9)
    r = api.solve("nanogpt", preset="gpt2", hardware="rtx-4070", find="iters", given={"wall_time": "1 month"})
    assert r["wall_time"].m_as("day") == pytest.approx(365.25 / 12, rel=1e-3)


@SETTINGS
@given(price=st.floats(0.01, 100), code=st.sampled_from(["EUR", "GBP", "JPY", "TWD", "CHF"]))
def test_a_price_in_any_currency_is_its_rate_times_the_dollar_price(price, code):
    from costmodel import units

    rate = units.quantity(1.0, code).m_as("USD")
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", targets=["energy_cost", "energy"],
                     values={"electricity_price": f"{price} {code}/kWh"})
    assert r["energy_cost"].m_as("USD") == pytest.approx(r["energy"].m_as("kWh") * price * rate, rel=1e-9)


@SETTINGS
@given(count=st.integers(1, 4096), card=st.sampled_from(["h100-sxm", "RTX 4070", "a100-80gb-sxm"]),
       sep=st.sampled_from(["x", "X", " x ", "×", "*"]))
def test_split_count(count, card, sep):
    assert naming.split_count(f"{count}{sep}{card}") == (count, card)
    assert naming.split_count(card) == (None, card)


@SETTINGS
@given(depth=st.integers(2, 40).map(lambda d: 2 * (d // 2)), batch=st.integers(1, 64),
       dash=st.booleans(), equals=st.booleans())
def test_nanochat_args_in_either_spelling(depth, batch, dash, equals):
    from costmodel_nanochat.args import load_args

    name = "device-batch-size" if dash else "device_batch_size"
    words = [f"--depth={depth}"] + ([f"--{name}={batch}"] if equals else [f"--{name}", str(batch)])
    assert load_args(None, [" ".join(words)]) == {"depth": depth, "micro_batch": batch}


# --- the answer first ------------------------------------------------------------------------------


def test_summary_targets_all_and_json(cli):
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070")
    assert code == 0, err
    assert len(out.splitlines()) < 40 and "act_layer" not in out
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--target", "wall_time")
    assert [line.split()[0] for line in out.splitlines()[3:] if line.strip()] == ["wall_time"]
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--all")
    assert "act_layer" in out and "inputs:" in out
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--json")
    data = json.loads(out)
    assert data["answer"] is None and "act_layer" in data["results"] and data["scenario"].startswith("nanogpt gpt2")


def test_api_honours_targets():
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", targets=["wall_time"])
    assert set(r.results) == {"wall_time", "fits"}
    with pytest.raises(UserError, match="unknown quantity"):
        api.estimate("nanogpt", preset="gpt2", targets=["wall_tim"])


def test_families_lists_every_input(cli):
    code, out, err = cli("families", "nanochat", "--json")
    assert code == 0, err
    data = json.loads(out)
    rows = {r["name"]: r for r in data["inputs"]}
    assert rows["micro_batch"]["unit"] == "sequence" and rows["micro_batch"]["default"] == 32
    assert {c["name"] for c in rows["optimizer"]["choices"]} >= {"muon", "adamw", "adamw8bit"}
    assert rows["electricity_price"]["default"].startswith("rule: ")
    assert "device_batch_size" in data["own_names"] and "run1000" in data["presets"]
    code, out, err = cli("families", "nanogpt")
    assert code == 0 and "batch_size" in out and "shakespeare-char" in out


# --- fits, and what the solver may change ---------------------------------------------------------


def test_fits_as_a_given_is_the_largest_micro_batch_that_fits(cli):
    r = api.estimate("nanochat", preset="d20", hardware="rtx-4070", values={"fits": 1})
    assert r.feasible and r["tokens_per_iter"].m_as("token/iteration") == 2**19
    b = r["micro_batch"].magnitude
    bigger = api.estimate("nanochat", preset="d20", hardware="rtx-4070", values={"micro_batch": 2 * b})
    assert not bigger.feasible
    code, out, err = cli("solve", "nanochat", "--preset", "d20", "-H", "rtx-4070", "--find", "wall_time",
                         "--given", "fits=1")
    assert code == 0, err and "is the largest that meets" in err
    one_line_error(cli, "estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--set", "fits=1",
                   contains="even at micro_batch = 1")
    one_line_error(cli, "estimate", "nanogpt", "--set", "fits=0", contains="give fits=1")


def test_a_given_memory_peak_frees_the_micro_batch_not_a_modelling_constant():
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", values={"mem_peak": "11 GiB"})
    assert any(w.startswith("micro_batch = ") for w in r.warnings)
    assert r.inputs.get("allocator_slack") is None or r.origins.get("allocator_slack") != "solved"
    assert r["mem_peak"].m_as("GiB") <= 11
    assert any("not exactly the given 11 GiB" in w for w in r.warnings)


def test_maximize_micro_batch_needs_a_limit(cli):
    one_line_error(cli, "solve", "nanogpt", "--maximize", "micro_batch", contains="needs a limit")


def test_per_node_and_per_gpu_hourly_prices():
    node = api.estimate("nanochat", preset="run1000", values={"node_hour_price": "24 USD/h"})
    gpu = api.estimate("nanochat", preset="run1000", values={"gpu_hour_price": "3 USD/h"})
    assert node["gpu_hour_price"].m_as("USD/h") == 3  # 24 USD per 8-GPU node-hour
    assert node["cloud_cost"] == gpu["cloud_cost"]
    assert gpu["cloud_cost"].m_as("USD") == pytest.approx(3 * 8 * gpu["wall_time"].m_as("h"), rel=1e-12)
    eur = api.estimate("nanochat", preset="run1000", values={"node_hour_price": "24 EUR/h"})
    assert eur["cloud_cost"].m_as("USD") == pytest.approx(node["cloud_cost"].m_as("USD") * 1.0411, rel=1e-9)


def test_fits_is_a_sweep_target_and_needs_a_card(cli):
    code, out, err = cli("sweep", "nanochat", "-p", "d20", "-H", "rtx-4070", "--grid", "micro_batch=1,8",
                         "--target", "fits", "--format", "json")
    assert code == 0, err
    assert [row["fits"] for row in json.loads(out)["rows"]] in ([1, 0], [1.0, 0.0], [True, False])
    one_line_error(cli, "solve", "nanogpt", "--find", "n_gpus", "--given", "fits=1", contains="needs a card")
    one_line_error(cli, "estimate", "nanochat", "--target", "wall_tim", contains="unknown quantity")
