"""Givens are checked like results (issue 13): an over-determined question is refused naming the
givens that conflict, whichever way the user pinned the input; the solver moves only the run inputs
declared freeable, never a modelling constant; a given outside its declared range is refused."""

from __future__ import annotations

import pytest

from costmodel import api
from costmodel.errors import UserError

GPT2 = dict(preset="gpt2", hardware="rtx-4070")
ASK = dict(find="total_tokens", given={"wall_time": "30 day"})


def _one_line(cli, *args) -> str:
    code, out, err = cli(*args)
    assert code == 1, (out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("values", [{"max_iters": 1000}, {"max_iters": 0}, {"iters": 1000}])
def test_pinned_run_length_and_a_given_wall_time_are_refused(values):
    with pytest.raises(UserError) as exc:
        api.solve("nanogpt", values=values, **GPT2, **ASK)
    text = str(exc.value)
    name = next(iter(values))
    assert "over-determined" in text and "wall_time = 30 day" in text and f"{name} = " in text


@pytest.mark.parametrize("pin", [
    ("--set", "max_iters=1000"), ("--set", "max_iters=0"), ("--given", "max_iters=1000"),
    ("--max_iters=1000",), ("--set", "iters=7"),
])
def test_every_way_of_pinning_from_the_command_line(cli, pin):
    err = _one_line(cli, "solve", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--find", "total_tokens",
                    "--given", "wall_time=30 day", *pin)
    assert "over-determined" in err and "wall_time = 30 day" in err
    assert ("max_iters = " in err) or ("iters = 7" in err)


def test_a_config_file_key_is_pinned_too(cli, tmp_path):
    config = tmp_path / "train_small.py"
    config.write_text("max_iters = 1000\nbatch_size = 4\n")
    err = _one_line(cli, "solve", "nanogpt", "--config", str(config), "-H", "rtx-4070", "--find", "total_tokens",
                    "--given", "wall_time=30 day")
    assert "max_iters = 1,000 iteration (config train_small.py)" in err


def test_two_givens_that_move_the_same_input_are_refused():
    with pytest.raises(UserError, match=r"over-determined: .*both follow from max_iters"):
        api.estimate("nanogpt", **GPT2, values={"wall_time": "30 day", "total_tokens": "1e9"})


def test_an_unpinned_run_length_is_what_moves():
    r = api.solve("nanogpt", **GPT2, **ASK)
    assert [s.name for s in r.evaluation.solved] == ["max_iters"]
    preset = api.estimate("nanogpt", **GPT2)
    for constant in ("mfu", "compute_hfu", "micro_batch", "seq_len"):
        if constant in r.numbers or constant in r.input_numbers:
            mine = r.numbers.get(constant, r.input_numbers.get(constant))
            theirs = preset.numbers.get(constant, preset.input_numbers.get(constant))
            assert mine == pytest.approx(theirs), constant


@pytest.mark.parametrize("given", [{"iter_time": "2.5 s"}, {"tokens_per_second": "30000 token/s"}])
def test_a_given_rate_never_moves_the_efficiency_model(given):
    """A measured step time or throughput is met by a run input (here the micro-batch), never by
    solving the model's mfu or its efficiency constants: the answer's mfu is the efficiency model's
    own at the solved micro-batch. With the micro-batch pinned too, it is refused."""
    r = api.estimate("nanogpt", **GPT2, values=given)
    assert [s.name for s in r.evaluation.solved] == ["micro_batch"]
    micro = r.input_numbers["micro_batch"]
    plain = api.estimate("nanogpt", **GPT2, values={"micro_batch": int(micro)})
    for name in ("mfu", "compute_hfu", "step_overhead", "hfu_ceiling"):
        if name in plain.numbers:
            assert r.numbers[name] == pytest.approx(plain.numbers[name], rel=1e-12), name
    with pytest.raises(UserError, match="over-determined"):
        api.estimate("nanogpt", **GPT2, values={**given, "micro_batch": 12})


def test_asking_for_an_assumption_by_name_still_answers_it():
    """--find mfu is the user's own question (what utilisation a time needs): that is answered."""
    r = api.solve("nanogpt", **GPT2, find="mfu", given={"wall_time": "30 day"}, values={"max_iters": 1000})
    assert 0 < r.input_numbers.get("mfu", r.numbers.get("mfu")) < 1


def test_a_given_naming_one_input_sets_it():
    """nanoGPT's block_size is seq_len under its own name: giving it sets seq_len."""
    r = api.estimate("nanogpt", values={"block_size": 512})
    assert r["seq_len"].magnitude == 512


@pytest.mark.parametrize("value", ["4", "0", "-0.3", "1.0001", "nan", "inf", "1e400"])
def test_a_given_outside_its_declared_range_is_one_line(cli, value):
    err = _one_line(cli, "estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--set", f"mfu={value}")
    assert "mfu" in err


@pytest.mark.parametrize("name,value", [("micro_batch", "0"), ("micro_batch", "-4"), ("micro_batch", "2.5"),
                                        ("n_gpus", "0"), ("seq_len", "-1"), ("wall_time", "-3 day"),
                                        ("gpu_hour_price", "-2"), ("max_iters", "-1")])
def test_inputs_outside_their_range_are_one_line(cli, name, value):
    err = _one_line(cli, "estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--set", f"{name}={value}")
    assert name in err or "max_iters" in err


def test_claim_checking_admits_only_the_named_assumptions_beyond_their_bound():
    """`check` solves an assumption a claim implies (that is its question, and it reports the value
    with a verdict); inside it only those assumptions may pass their hard maximum."""
    import attrs

    from costmodel.registry import beyond_maximum, check_domain

    mfu = api.registry().quantity("mfu")
    other = attrs.evolve(mfu, name="comm_overlap", plausible=None)
    with pytest.raises(UserError, match="at most 1"):
        check_domain(mfu, 1.5, "mfu")
    with beyond_maximum({"mfu"}):
        check_domain(mfu, 1.5, "mfu")
        with pytest.raises(UserError, match="at most 1"):
            check_domain(other, 1.5, "comm_overlap")
    with pytest.raises(UserError, match="at most 1"):
        check_domain(mfu, 1.5, "mfu")


def test_maximising_what_a_given_input_fixes_is_refused():
    with pytest.raises(UserError, match=r"over-determined: total_tokens follows from max_iters = 1,000"):
        api.solve("nanogpt", **GPT2, maximize="total_tokens", subject_to=("wall_time <= 30 day",),
                  values={"max_iters": 1000})
    r = api.solve("nanogpt", **GPT2, maximize="total_tokens", subject_to=("wall_time <= 30 day",))
    assert [s.name for s in r.evaluation.solved] == ["max_iters"]


def test_a_given_that_breaks_a_rule_the_solved_input_cannot_reach_is_refused_at_once(monkeypatch):
    """65,536 vocabulary rows do not split over 5 GPUs whatever the run length: solving for iters
    names the rule after one evaluation, instead of stepping iters 100,000 times (45 s) first."""
    from costmodel import inverse

    calls = []
    real = inverse.forward
    monkeypatch.setattr(inverse, "forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(UserError, match=r"no whole iters .*split evenly over n_gpus"):
        api.solve("nanochat", preset="d20", hardware="h100-sxm", values={"n_gpus": 5}, **ASK)
    assert len(calls) <= 3, len(calls)
