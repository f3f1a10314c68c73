"""The recipe search (costmodel.search) and the planner (costmodel plan).

Two independent checks of the vectorised search: a brute-force loop over a small grid (one
forward `estimate` per point) must pick the same winner, and the planner's winner, estimated
forward, must fit with the same time and cost. The search's own mechanics (chunks, pruning, the
bound on the grid) must not change what it finds.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest

from costmodel import api
from costmodel.errors import UserError
from costmodel.planner import Goal, plan
from costmodel.search import search

SCENARIO = {"family": "nanochat", "preset": "d20", "hardware": "rtx-4090",
            "values": {"version": "v0", "n_gpus": 1}}
SPACE = {"precision": ["amp-bf16", "bf16"], "checkpointing": ["none", "full"],
         "optimizer": ["muon", "adamw8bit"], "micro_batch": [1, 2, 4, 8, 16]}
FIT = "mem_peak <= gpu_memory_usable"
FEWER = {"attention": "flash", "offload": "none"}  # pinned where a test needs no full search (speed)


def _brute_force():
    """The fastest fitting point of SPACE, one forward estimate per point."""
    best = None
    names = list(SPACE)
    for combo in itertools.product(*(SPACE[n] for n in names)):
        point = dict(zip(names, combo))
        try:
            r = api.estimate("nanochat", preset="d20", hardware="rtx-4090",
                             values={**SCENARIO["values"], **point})
        except UserError:
            continue  # a family rule broken: not a candidate
        if r.numbers["mem_peak"] > r.input_numbers["gpu_memory_usable"]:
            continue
        if best is None or r.numbers["wall_time"] < best[1]:
            best = (point, r.numbers["wall_time"])
    return best


def test_vectorised_search_picks_the_brute_force_winner():
    found = search(SCENARIO, SPACE, objective="wall_time", constraints=[FIT], report=["mem_peak"])
    expected, time = _brute_force()
    best = found.best
    assert {**best.choices, "micro_batch": int(best.numbers["micro_batch"])} == expected
    assert best.objective == pytest.approx(time, rel=1e-12)
    assert found.candidates == math.prod(len(v) for v in SPACE.values())


def test_chunks_and_pruning_do_not_change_the_answer():
    whole = search(SCENARIO, SPACE, objective="wall_time", constraints=[FIT], monotone={})
    small = search(SCENARIO, SPACE, objective="wall_time", constraints=[FIT], chunk=2)
    pruned = search(SCENARIO, SPACE, objective="wall_time", constraints=[FIT])
    assert whole.best.objective == small.best.objective == pruned.best.objective
    assert whole.best.choices == small.best.choices == pruned.best.choices
    assert whole.evaluated == whole.candidates
    # d32 under amp-bf16 does not fit 24 GiB even at micro_batch 1: decided there, the same way (a
    # group's grid larger than a block, here of 2 points, is pruned; one block is evaluated in one pass)
    small_card = {**SCENARIO, "preset": "d32"}
    pruned = search(small_card, SPACE, objective="wall_time", constraints=[FIT], chunk=2)
    unpruned = search(small_card, SPACE, objective="wall_time", constraints=[FIT], monotone={})
    assert pruned.evaluated < pruned.candidates and unpruned.evaluated == unpruned.candidates
    assert any(o.pruned and o.best is None for o in pruned.outcomes)
    assert pruned.best.choices == unpruned.best.choices
    assert pruned.best.objective == unpruned.best.objective


def test_a_grid_too_large_is_refused_before_anything_runs():
    with pytest.raises(UserError, match=r"the search space has 40 points; at most 10"):
        search(SCENARIO, SPACE, objective="wall_time", max_candidates=10)


def test_a_searched_input_cannot_also_be_given():
    with pytest.raises(UserError, match="n_gpus is given"):
        search(SCENARIO, {"n_gpus": [1, 2]}, objective="wall_time")


def test_plan_winner_checked_by_a_forward_estimate():
    p = plan("nanochat", preset="d20", hardware="rtx-4090",
             values={"version": "v0", "n_gpus": 1, "gpu_hour_price": "0.5 USD/h", "attention": "flash"})
    forward = p.estimate()
    assert forward.numbers["mem_peak"] <= forward.input_numbers["gpu_memory_usable"]
    assert forward.numbers["wall_time"] == pytest.approx(p.best.values["wall_time"], rel=1e-9)
    assert forward.numbers["cloud_cost"] == pytest.approx(p.best.values["cloud_cost"], rel=1e-9)
    # the standard recipe (amp-bf16, muon, micro_batch 32) does not fit a 24 GiB card
    assert p.baseline["fits"] is False
    line = p.summary()
    assert line.startswith("pre-training nanochat d20 on 1 x RTX 4090, 11.22B token (preset d20's horizon): "
                           "the standard recipe does not fit")
    assert "fastest that fits" in line and "in 30 days" in line


def test_tokens_per_step_stay_fixed_unless_freed():
    p = plan("nanochat", preset="d20", hardware="rtx-4090", values={"version": "v0", "n_gpus": 1, **FEWER})
    # v0: total_batch_size = 2**19 tokens, whatever the micro-batch (base_train.py@fae3aca L39)
    assert all(o.best.values["tokens_per_iter"] == 2**19 for o in p.found.outcomes if o.best)
    # nanoGPT's gpt2 config: 12 x 1024 x 40 = 491,520 tokens per step, kept by the accumulation
    g = plan("nanogpt", preset="gpt2", hardware="rtx-4090", values={"optimizer": "adamw", **FEWER})
    assert g.best is not None
    assert g.best.values["tokens_per_iter"] == 12 * 1024 * 40
    mb = g.best.numbers["micro_batch"]
    assert g.best.numbers["gradient_accumulation_steps"] * mb == 12 * 40


def test_pinned_choices_stay_pinned_and_finetuning_is_asked_for():
    p = plan("nanochat", preset="d20", hardware="rtx-4090",
             values={"version": "v0", "n_gpus": 1, "optimizer": "adamw8bit", "offload": "none"})
    assert all("optimizer" not in o.choices for o in p.found.outcomes)  # not searched
    assert p.estimate().input_numbers["optimizer"] == "adamw8bit"
    assert {o.choices["weights"] for o in p.found.outcomes} == {"full"}
    assert p.mode == "pre-training"
    f = plan("nanochat", preset="d20", hardware="rtx-4090",
             values={"version": "v0", "n_gpus": 1, "optimizer": "adamw8bit", **FEWER}, finetune=True,
             goal=Goal(kind="fit", tokens=1e8))
    assert {o.choices["weights"] for o in f.found.outcomes} == {"full", "lora", "int8", "nf4"}
    assert f.summary().startswith("fine-tuning")
    with pytest.raises(UserError, match="add --finetune"):
        plan("nanochat", preset="d20", hardware="rtx-4090", values={"weights": "nf4"})


def test_rejected_recipes_say_why():
    p = plan("nanochat", preset="d32", hardware="rtx-4070",
             values={"version": "v0", "n_gpus": 1, "checkpointing": "full", "compile": True})
    lines = {r["recipe"]: r for r in p.rejected}
    fp32_master = lines["precision=amp-bf16"]
    assert fp32_master["line"].startswith("no recipe with precision=amp-bf16 (fp32 master weights")
    assert "weights, gradients and optimizer states alone need" in fp32_master["reason"]
    # the number is the static memory of the nearest recipe, as a forward estimate gives it
    nearest = fp32_master["nearest"]
    assert nearest["values"]["precision"] == "amp-bf16" and nearest["hardware"] == "RTX 4070"
    r = api.estimate("nanochat", preset="d32", hardware="rtx-4070",
                     values={"version": "v0", "n_gpus": 1, "checkpointing": "full", "compile": True,
                             **nearest["values"]})
    static = sum(r.numbers[n] for n in ("mem_weights", "mem_grads", "mem_optimizer_resident"))
    from costmodel import units

    assert units.format_quantity(static, "byte") in fp32_master["reason"]


def test_deadline_goal_fewest_gpus():
    goal = Goal(kind="deadline", tokens=2e9, deadline=6 * 3600.0)
    p = plan("nanochat", preset="d20", hardware="h100-sxm", goal=goal, gpus=[1, 2, 4, 8],
             values={"version": "v0", "optimizer": "muon", "checkpointing": "none", **FEWER})
    n = int(p.best.values["n_gpus"])
    forward = p.estimate()
    assert forward.numbers["total_tokens"] >= 2e9
    assert forward.numbers["total_tokens"] - 2e9 < forward.numbers["tokens_per_iter"]
    assert forward.numbers["wall_time"] <= 6 * 3600.0
    assert forward.numbers["wall_time"] == pytest.approx(p.best.values["wall_time"], rel=1e-9)
    fewer = [o for o in p.found.outcomes if o.best is not None and o.best.values["n_gpus"] < n]
    assert not fewer


def test_days_goal_most_tokens_within_the_time():
    p = plan("nanochat", preset="d20", hardware="rtx-4090", goal=Goal(kind="days", days=86400.0),
             values={"version": "v0", "n_gpus": 1, **FEWER})
    forward = p.estimate()
    assert forward.numbers["wall_time"] <= 86400.0
    # one more step would not fit in the day
    assert forward.numbers["wall_time"] + forward.numbers["iter_time"] > 86400.0
    assert forward.numbers["total_tokens"] == pytest.approx(p.best.values["total_tokens"])


def test_days_goal_with_evaluations_that_grow_with_the_steps():
    """nanoGPT evaluates every eval_interval steps (train.py L263): the run's fixed costs measured at one
    step undercount them, and the first horizon overshot 30 days by a few evaluations, so the help's
    own example (`plan nanogpt --preset gpt2 -H rtx-4070 --days 30`) found no recipe. The horizon is
    corrected at the steps it computed: within the 30 days, and one more step would miss them."""
    days = 30 * 86400.0
    p = plan("nanogpt", preset="gpt2", hardware="rtx-4070", goal=Goal(kind="days", days=days),
             values={"micro_batch": 8})
    assert p.best is not None
    forward = p.estimate()
    n = {**forward.input_numbers, **forward.numbers}
    assert n["wall_time"] <= days
    assert n["wall_time"] + n["iter_time"] > days - n["eval_time"] / (n["iters"] // 2000 + 1)
    assert forward.numbers["total_tokens"] == pytest.approx(p.best.values["total_tokens"])


def test_several_cards_ranked_and_budget_needs_prices():
    p = plan("nanochat", preset="d20", hardware=["rtx-4090", "h100-sxm"],
             goal=Goal(kind="deadline", tokens=2e9, deadline=86400.0, by="cost"),
             values={"version": "v0", "optimizer": "muon", "checkpointing": "none", **FEWER}, gpus=[1, 2, 4, 8])
    hours = [c.values["gpu_hours"] for c in p.by_card]
    assert len(p.by_card) == 2 and hours == sorted(hours)
    with pytest.raises(UserError, match="--budget needs a GPU-hour price"):
        plan("nanochat", preset="d20", hardware="rtx-4090", goal=Goal(kind="budget", budget=100.0))


def test_cli_plan_text_and_json(cli):
    args = ["plan", "nanochat", "--preset", "d20", "-H", "rtx-4090", "--set", "version=v0", "--set", "n_gpus=1",
            "--set", "attention=flash", "--set", "offload=none"]
    code, out, err = cli(*args)
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("pre-training nanochat d20 on 1 x RTX 4090")
    assert "best plans, ranked" in out and "note: searched" in err
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["summary"] == first and data["mode"] == "pre-training"
    assert data["best"]["hardware"] == "RTX 4090"
    same = api.plan("nanochat", preset="d20", hardware="rtx-4090",
                    values={"version": "v0", "n_gpus": 1, **FEWER})
    assert same.summary() == first


@pytest.mark.parametrize("args, message", [
    (["--deadline", "24 h"], "--deadline needs --tokens"),
    (["--tokens", "1e9", "--days", "3"], "--days and --budget find them"),
    (["--tokens", "0"], "must be above 0"),
    (["--finetune"], "fine-tuning has no length of its own"),
    (["--gpus", "1..20000"], "name fewer cards (-H), narrow --gpus, or pin recipe options"),
    (["--days", "3", "--budget", "10"], "give one goal"),
    (["--by", "cost"], "--by goes with --tokens"),
    (["--gpus", "0"], "GPU counts are whole numbers from 1"),
])
def test_cli_plan_errors(cli, args, message):
    code, out, err = cli("plan", "nanochat", "--preset", "d20", "-H", "rtx-4090", *args)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1


def test_solve_frees_recipe_choices_with_the_same_search():
    r = api.solve("nanochat", preset="d20", hardware="rtx-4090", values={"version": "v0", "n_gpus": 1},
                  maximize="micro_batch", free=["optimizer,checkpointing"],
                  subject_to=["mem_peak <= gpu_memory_usable"])
    assert r.warnings[0].endswith("subject to mem_peak <= gpu_memory_usable")
    best = int(r.input_numbers["micro_batch"])
    assert r.numbers["mem_peak"] <= r.input_numbers["gpu_memory_usable"]
    # brute force: no other optimizer/checkpointing pair fits a larger power-of-two micro-batch
    for optimizer in ("adamw", "adamw8bit", "muon", "sgd"):
        for checkpointing in ("none", "selective", "full"):
            try:
                bigger = api.estimate("nanochat", preset="d20", hardware="rtx-4090",
                                      values={"version": "v0", "n_gpus": 1, "optimizer": optimizer,
                                              "checkpointing": checkpointing, "micro_batch": 2 * best})
            except UserError:
                continue
            assert bigger.numbers["mem_peak"] > bigger.input_numbers["gpu_memory_usable"]


def test_cli_solve_free(cli):
    code, out, err = cli("solve", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--maximize", "micro_batch",
                         "--free", "checkpointing", "--subject-to", "mem_peak <= gpu_memory_usable")
    assert code == 0, err
    assert "checkpointing = " in err and "chosen: the largest micro_batch of 3,072 candidates" in err


def test_a_value_only_some_cards_give_replaces_the_default_rule_on_those_only():
    found = search({**SCENARIO, "hardware": None}, {"micro_batch": [4]}, objective="wall_time",
                   cards=["rtx-4090", "h100-sxm"], card_values={"h100-sxm": {"hfu_ceiling": 0.5}},
                   report=["wall_time"])
    by_card = {o.choices["hardware"]: o.best.values["wall_time"] for o in found.outcomes}
    for card, extra in (("RTX 4090", {}), ("H100 SXM", {"hfu_ceiling": 0.5})):
        r = api.estimate("nanochat", preset="d20", hardware=card,
                         values={**SCENARIO["values"], "micro_batch": 4, **extra})
        assert by_card[card] == pytest.approx(r.numbers["wall_time"], rel=1e-12)


def test_a_question_no_combination_can_answer_is_an_error():
    with pytest.raises(UserError, match="cannot compute cloud_cost: no value for"):
        search(SCENARIO, {"checkpointing": ["none", "full"]}, objective="cloud_cost")


def test_seed_003_d32_on_an_rtx_4070_first_line(cli):
    """Seed 003: no standard recipe fits nanochat d32 (v0, 1.88B parameters) in 12 GB; the fastest
    that does offloads the optimizer or pages it, with pure bf16 weights and full checkpointing."""
    code, out, err = cli("plan", "nanochat", "--preset", "d32", "-H", "rtx-4070", "--set", "version=v0",
                         "--set", "n_gpus=1", "--set", "attention=flash")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("pre-training nanochat d32 on 1 x RTX 4070, 37.58B token (preset d32's horizon): "
                            "no standard recipe fits: none with")
    assert "checkpointing=full" in first  # (with nanochat's expandable segments bf16 + 8-bit AdamW fits unoffloaded at 1)
    assert "offload=cpu" in first or "offload=paged" in first
    # v0's horizon by hand: n_params = 32 x 12 x 2048^2 + 2 x 65,536 x 2048 = 1,879,048,192; 20 tokens
    # per parameter = 37,580,963,840 = exactly 71,680 steps of 2**19 tokens
    assert "in 30 days" in first
    # the time with its 80 % interval (the time plugin's wall_time_low/high)
    assert "day (80 % interval " in first


D20 = {"version": "v0", "n_gpus": 1, "optimizer": "adamw8bit", **FEWER}


def test_finetuning_needs_a_stated_horizon():
    """The scenario's horizon is pre-training's (nanochat: 20 tokens per parameter): a fine-tuning
    plan takes the user's --tokens (whole steps of 2**19 tokens) or the user's iters, else asks."""
    with pytest.raises(UserError, match="fine-tuning has no length of its own"):
        plan("nanochat", preset="d20", hardware="rtx-4090", values=D20, finetune=True)
    p = plan("nanochat", preset="d20", hardware="rtx-4090", values=D20, finetune=True,
             goal=Goal(kind="fit", tokens=2e8))
    # ceil(2e8 / 524,288) = 382 steps = 200,278,016 tokens
    assert p.best.values["total_tokens"] == 382 * 2**19 == 200_278_016
    assert p.summary().startswith("fine-tuning nanochat d20 on 1 x RTX 4090, 200.3M token (--tokens): ")
    it = plan("nanochat", preset="d20", hardware="rtx-4090", values={**D20, "iters": 100}, finetune=True)
    assert it.best.values["total_tokens"] == 100 * 2**19
    assert "(your iters)" in it.summary()
    # a forward estimate of the winner agrees
    r = p.estimate()
    assert r.numbers["total_tokens"] == 200_278_016
    assert r.numbers["wall_time"] == pytest.approx(p.best.values["wall_time"], rel=1e-9)


def test_caveats_are_declared_on_the_choices(tmp_path):
    """A choice's caveat is said when the plan uses it, with its source; ZeRO-Offload keeps pure
    bf16's fp32 master weights on the CPU, so that caveat's condition drops it; a third-party
    plugin declares its own."""
    bf16 = plan("nanochat", preset="d20", hardware="rtx-4090",
                values={**D20, "precision": "bf16", "optimizer": "adamw"})
    assert any("Zamirai" in c and c.startswith("pure bf16 keeps no fp32 master weights") for c in bf16.caveats)
    offloaded = plan("nanochat", preset="d20", hardware="rtx-4090",
                     values={**D20, "precision": "bf16", "optimizer": "adamw", "offload": "cpu"})
    assert offloaded.best is not None and offloaded.caveats == []
    plugin = tmp_path / "order.py"
    plugin.write_text(
        "from costmodel import hookimpl\n"
        "from costmodel.declarations import Caveat, Choice, Recipe\n\n\n"
        "@hookimpl\n"
        "def register_recipes(register):\n"
        "    register(Recipe(name='data_order', doc='order of the training documents', default='shuffled',\n"
        "                    choices=[Choice(name='shuffled', doc='shuffled', source='definition'),\n"
        "                             Choice(name='sorted', doc='sorted by length', source='definition',\n"
        "                                    caveats=[Caveat(text='sorted batches bias the gradient',\n"
        "                                                    source='a test')])]))\n")
    p = plan("nanochat", preset="d20", hardware="rtx-4090", plugins=[str(plugin)],
             values={**D20, "data_order": "sorted", "checkpointing": "full", "precision": "amp-bf16"})
    assert p.caveats == ["sorted batches bias the gradient; source: a test"]
    with pytest.raises(ValueError, match="condition"):
        from costmodel.declarations import Caveat
        Caveat(text="x", source="y", condition="offload ==")


def test_times_carry_their_80_percent_interval(cli):
    p = plan("nanochat", preset="d20", hardware="rtx-4090", values={**D20, "checkpointing": "full"})
    r = p.estimate()
    v = p.best.values
    assert v["wall_time_low"] == pytest.approx(r.numbers["wall_time_low"], rel=1e-9)
    assert v["wall_time_low"] < v["wall_time"] < v["wall_time_high"]
    assert v["mem_peak_high"] == pytest.approx(r.numbers["mem_peak_high"], rel=1e-9)
    from costmodel.plan_text import _borderline
    gib = 2.0**30
    assert _borderline({"gpu_memory_usable": 12 * gib, "mem_peak_high": 12.5 * gib}) == \
        "; borderline: the peak's 80 % interval reaches 12.50 GiB"
    assert _borderline({"gpu_memory_usable": 12 * gib, "mem_peak_high": 11.5 * gib}) == ""
    code, out, err = cli("plan", "nanochat", "--preset", "d20", "-H", "rtx-4090", "--set", "version=v0",
                         "--set", "n_gpus=1", "--set", "optimizer=adamw8bit", "--set", "checkpointing=full",
                         *[f"--set={k}={v}" for k, v in FEWER.items()])
    assert code == 0, err
    assert "(80 % interval " in out.splitlines()[0] and "time (80 % interval)" in out


def test_budget_goal_buys_the_hours_its_price_pays_for():
    """500 USD at 0.4 USD per GPU-hour buys 1,250 GPU-hours = 4,500,000 s on one GPU: the plan's
    whole steps fill them, and one more step would not fit."""
    p = plan("nanochat", preset="d20", hardware="rtx-4090", goal=Goal(kind="budget", budget=500.0),
             values={**D20, "gpu_hour_price": "0.4 USD/h", "checkpointing": "full", "precision": "amp-bf16"})
    v = p.best.values
    assert v["wall_time"] <= 4_500_000 < v["wall_time"] + v["iter_time"]
    assert v["cloud_cost"] == pytest.approx(0.4 * v["wall_time"] / 3600, rel=1e-12) and v["cloud_cost"] <= 500
    assert v["total_tokens"] == v["iters"] * 2**19
    assert p.summary().startswith("pre-training nanochat d20, most tokens for 500 USD: 1 x RTX 4090")
    r = p.estimate()
    assert r.numbers["cloud_cost"] == pytest.approx(v["cloud_cost"], rel=1e-9)


def test_all_cards_with_some_prices_compares_the_priced_ones():
    p = plan("nanochat", preset="d20", hardware="all", prices={"rtx-4090": "0.35 USD/h", "h100-sxm": "2.99 USD/h"},
             goal=Goal(kind="deadline", tokens=2e9, deadline=86400.0, by="cost"), gpus=[1, 2],
             values={"version": "v0", "optimizer": "muon", **FEWER})
    assert sorted(p.cards) == ["H100 SXM", "RTX 4090"] and p.priced
    assert any("2 priced card(s) compared" in n for n in p.notes)
    costs = [c.values["cloud_cost"] for c in p.by_card]
    assert costs == sorted(costs)
    with pytest.raises(UserError, match="no price for"):
        plan("nanochat", preset="d20", hardware="rtx-4090,h100-sxm,l4", prices={"rtx-4090": "0.35 USD/h"},
             goal=Goal(kind="deadline", tokens=2e9, deadline=86400.0, by="cost"))


def test_nothing_fits_says_the_nearest_miss_and_unmodelled_choices_say_so():
    p = plan("nanochat", preset="d32", hardware="rtx-4070", values={"version": "v0", "n_gpus": 1, "optimizer": "muon",
                                                                  "attention": "flash", "offload": "none"})
    assert p.best is None
    line = p.summary()
    assert "no recipe with optimizer=muon, attention=flash, offload=none fits: the smallest peak is" in line
    q = plan("nanochat", preset="d20", hardware="rtx-4090", values={"version": "v0", "n_gpus": 1,
                                                                  "optimizer": "adamw8bit", "attention": "flash"})
    cpu = {r["recipe"]: r for r in q.rejected}["offload=cpu"]
    assert cpu["reason"] == ("no formula gives offload_time for it with the rest of the recipe "
                             "(pinned: optimizer=adamw8bit, attention=flash)")


def test_a_combination_lacking_an_input_no_card_gives_is_refused_on_every_kind_of_card():
    """offload=cpu has no model with Muon (DeepSpeed's CPU optimizer is Adam): found on the first
    kind of card, it is refused on the others without composing it again, with the same reason."""
    found = search({**SCENARIO, "hardware": None},
                   {"offload": ["none", "cpu"], "optimizer": ["muon", "adamw"], "micro_batch": [4]},
                   objective="wall_time", cards=["rtx-4090", "h100-sxm"], card_values={"h100-sxm": {"hfu_ceiling": 0.5}})
    invalid = {(o.choices["offload"], o.choices["optimizer"], o.choices["hardware"]): o.invalid
               for o in found.outcomes if o.invalid}
    assert set(invalid) == {("cpu", "muon", "RTX 4090"), ("cpu", "muon", "H100 SXM")}
    assert len(set(invalid.values())) == 1 and "offload_time" in next(iter(invalid.values()))
    assert all(o.best is not None for o in found.outcomes if not o.invalid)


def test_a_borderline_best_plan_comes_with_one_that_fits_at_the_interval_high_end():
    """Seed 003's fastest plan peaks within 0.6 GiB of the RTX 4070's usable memory, inside the
    memory interval's reach: the answer adds a plan whose peak fits even at its interval's high
    end, and a forward estimate of that plan agrees."""
    p = plan("nanochat", preset="d32", hardware="rtx-4070", values={"version": "v0", "n_gpus": 1, "attention": "flash"})
    v = p.best.values
    if v["mem_peak_high"] <= v["gpu_memory_usable"]:
        assert p.safe is None and "borderline" not in p.summary()
        return
    assert p.safe is not None and "; fits even then: " in p.summary()
    r = p.estimate(p.safe)
    assert r.numbers["mem_peak_high"] <= r.input_numbers["gpu_memory_usable"]
    assert r.numbers["wall_time"] == pytest.approx(p.safe.values["wall_time"], rel=1e-9)
    assert p.safe.values["wall_time"] >= v["wall_time"]
