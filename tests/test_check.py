"""Claim checking: verdicts computed against hand arithmetic on the toy family.

Toy on an RTX 4070 (tests/data/toy.toml): N = 123,568,128 params, 6N FLOP/token, 32,768 tokens per
step, iter_time = 6N x 32,768 / (mfu x 58.3e12) with the toy's mfu 0.4 (a plain input there: the
toy declares no assumption, so its claims are judged as arithmetic), 1,000 steps.
"""

import json

import pytest

from costmodel.check import check
from costmodel.errors import UserError

N = 12 * 12 * 768**2 + 50304 * 768
TOKENS = 8 * 1024 * 4
FLOPS = 6 * N * TOKENS * 1000


def test_exact_arithmetic_claims(toy):
    good, bad = check("toy", [("model_flops", f"{FLOPS} FLOP"), ("model_flops", f"{FLOPS / 1000} FLOP")],
                      plugins=[toy], hardware="rtx-4070")
    assert good.verdict == "consistent" and good.ratio == pytest.approx(1)
    assert bad.verdict == "impossible" and "a factor of 1,000 (too low)" in bad.reason


def test_implied_mfu_on_a_real_family(cli):
    """nanoGPT gpt2 on one RTX 4070: a claimed step time implies an mfu; beyond 1 is impossible."""
    code, out, err = cli("check", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--set", "n_gpus=1",
                         "--set", "gradient_accumulation_steps=1", "--set", "micro_batch=8",
                         "--claim", "iter_time=1 ms", "--claim", "mfu=0.95", "--claim", "mfu=1.5", "--json")
    assert code == 0, err
    fast, high, over = json.loads(out)
    # 1 ms for 8 x 1024 tokens x ~0.87 GFLOP/token needs ~7 PFLOP/s: 120x the card's 58.3 TFLOP/s
    flops_per_token = 6 * (124_439_808 - 1024 * 768) + 12 * 12 * 12 * 64 * 1024
    needed = flops_per_token * 8 * 1024 / 1e-3
    assert fast["verdict"] == "impossible"
    # "1 ms" states one digit: 0.5 to 1.5 ms; the end nearest costmodel's value, 1.5 ms, is judged
    assert fast["claimed"]["low"] == pytest.approx(0.5e-3) and fast["claimed"]["high"] == pytest.approx(1.5e-3)
    assert fast["implied"]["mfu"] == pytest.approx(needed / 1.5 / 58.3e12, rel=0.02)
    assert high["verdict"] == "implausible" and over["verdict"] == "impossible"


def test_claim_errors(toy):
    with pytest.raises(UserError, match="at least one"):
        check("toy", [], plugins=[toy])
    with pytest.raises(UserError, match="wrong unit"):
        check("toy", [("mem_peak", "3 s")], plugins=[toy])
    with pytest.raises(UserError, match="did you mean"):
        check("toy", [("mem_peek", "3 GiB")], plugins=[toy])


def test_time_without_per_iteration_is_per_one_iteration():
    from costmodel import units

    assert units.parse_value("100 ms", "s/iteration", "iter_time") == pytest.approx(0.1)
    assert units.parse_value("1024 token", "token/sequence", "seq_len") == 1024
    with pytest.raises(UserError):
        units.parse_value("100 token", "s/iteration", "x")


def test_estimate_plot_writes_the_memory_breakdown(tmp_path, cli):
    pytest.importorskip("matplotlib")
    out = tmp_path / "mem.png"
    code, stdout, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--plot", str(out))
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_verdicts_come_from_the_solvers_reason_not_its_wording(monkeypatch):
    """An `Unreachable` from the solver is an impossible claim whatever its text says; a plain
    user error stays an error even when its text sounds like one ("cannot reach")."""
    from costmodel import api
    from costmodel.errors import Unreachable

    scenario = dict(preset="gpt2", hardware="rtx-4070", values={"n_gpus": "1"})

    def unreachable(*args, **kwargs):
        raise Unreachable("some wording the check does not read")

    monkeypatch.setattr(api, "solve", unreachable)
    (verdict,) = check("nanogpt", [("iter_time", "1 ms")], **scenario)
    assert verdict.verdict == "impossible" and "some wording the check does not read" in verdict.reason

    def plain(*args, **kwargs):
        raise UserError("iter_time cannot reach it (a plain error)")

    monkeypatch.setattr(api, "solve", plain)
    with pytest.raises(UserError, match="a plain error"):
        check("nanogpt", [("iter_time", "1 ms")], **scenario)
