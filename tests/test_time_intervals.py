"""Error bars in words: every time and memory answer of estimate, solve and check carries its 80 %
interval (costmodel/summary.py, from costmodel_time.intervals); memory says fits / borderline / does
not fit with the margin; a given utilisation or time (mfu, iter_time) drops the time interval. The
expected texts are written out by hand from the interval's numbers."""

from __future__ import annotations

import json

import pytest

from costmodel import api


def val(result, name, unit):
    return result[name].m_as(unit)



def test_the_interval_level_in_words_is_the_intervals_level():
    from costmodel import summary
    from costmodel_time import intervals

    assert summary.LEVEL_TEXT == f"{intervals.LEVEL:.0%}".replace("%", " %")


def test_estimate_says_time_and_memory_with_their_intervals(cli):
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("fits: one GPU needs ") and "80 % interval of the peak" in lines[1]
    assert lines[2].startswith("time: ") and " for 294.9B token on 1x RTX 4070 (80 % interval " in lines[2]
    assert "s/iteration" in lines[2].rsplit(";", 1)[1]
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070")
    wall, low, high = (val(r, n, "day") for n in ("wall_time", "wall_time_low", "wall_time_high"))
    runs = int(r["time_interval_runs"].magnitude)
    # the interval by hand: a wide one in whole days here (2 significant digits, none after the point)
    assert 10 < low < high and (high - low) / wall > 0.2
    assert f"(80 % interval {low:.0f}-{high:.0f} day, from {runs} runs)" in lines[2]
    assert lines[2].startswith("time: ") and float(lines[2].split()[1]) == pytest.approx(wall, rel=5e-3)  # 3 digits
    table = next(line for line in lines if line.strip().startswith("wall_time "))
    assert f"80 % interval {low:.0f}-{high:.0f} day, from {runs} runs; " in table
    # what scales with the run's time carries the same interval: GPU-hours = wall_time in hours on one GPU
    hours = next(line for line in lines if line.strip().startswith("gpu_hours "))
    assert f"80 % interval {low * 24:,.0f}-{high * 24:,.0f} h, from {runs} runs; " in hours
    data = json.loads(cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--json")[1])
    assert data["results"]["wall_time_low"]["value"] == pytest.approx(val(r, "wall_time_low", "s"))
    assert data["results"]["time_interval_runs"]["value"] == runs


def test_memory_verdict_in_words_fits_borderline_does_not_fit():
    from costmodel import summary

    unit = {"mem_peak": "byte", "gpu_memory_usable": "byte", "fits": "1"}.get
    gib = 2**30

    def line(peak, verdict, fits):
        numbers = {"mem_peak": peak * gib, "mem_peak_low": 0.85 * peak * gib, "mem_peak_high": 1.15 * peak * gib,
                   "memory_interval_runs": 4, "gpu_memory_usable": 10 * gib, "memory_verdict": verdict,
                   "fits": fits}
        return summary.memory_line(numbers, unit)

    # 3 significant digits beside a wide interval, whose ends get 2 (8.25 x 0.85 = 7.01, x 1.15 = 9.49)
    assert line(8.25, 2, 1) == ("fits: one GPU needs 8.25 GiB of 10 GiB usable (1.75 GiB free; 80 % interval "
                                "of the peak 7.0-9.5 GiB, from 4 runs)")
    assert line(9.5, 1, 1) == ("borderline: one GPU needs 9.50 GiB of 10 GiB usable (512 MiB free; 80 % interval "
                               "of the peak 8.1-11 GiB, from 4 runs): fits at the estimate, not at the interval's high end")
    assert line(12.5, 0, 0) == ("DOES NOT FIT: one GPU needs 12.5 GiB, the card has 10 GiB usable (short by "
                                f"2.50 GiB; 80 % interval of the peak 11-14 GiB, from 4 runs); {summary.FIT_HINT}")
    # above the card at the estimate but not at the interval's low end: does not fit, borderline
    assert line(10.5, 1, 0).startswith("DOES NOT FIT: one GPU needs 10.5 GiB, the card has 10 GiB usable (short by "
                                       "512 MiB; 80 % interval of the peak 8.9-12 GiB, from 4 runs: borderline, its "
                                       "low end fits)")


def test_solve_and_check_carry_the_interval(cli):
    code, out, err = cli("solve", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--find", "total_tokens",
                         "--given", "wall_time=30 day")
    assert code == 0, err
    answer = next(line for line in out.splitlines() if line.startswith("total_tokens = "))
    r = api.solve("nanogpt", preset="gpt2", hardware="rtx-4070", find="total_tokens", given={"wall_time": "30 day"})
    tokens = val(r, "total_tokens", "token")
    low, high = (val(r, n, "") for n in ("time_interval_low", "time_interval_high"))
    # if the run takes r x the estimate, r in [low, high], only tokens / r fit the 30 days
    assert f"(80 % interval {tokens / high / 1e9:.0f}-{tokens / low / 1e9:.0f}B token in the given wall_time" in answer
    code, out, err = cli("check", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--claim", "wall_time=100 day")
    assert code == 0, err
    assert "CONSISTENT" in out and "80 % interval" in out


def test_a_given_utilisation_replaces_the_model_and_its_interval(cli):
    """With --set mfu the time is the user's: the validation runs' interval says nothing about it."""
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "-H", "rtx-4070", "--set", "mfu=0.4")
    assert code == 0, err
    time_line = out.splitlines()[2]
    assert time_line.startswith("time: ") and "interval" not in time_line
    assert "80 % interval of the peak" in out.splitlines()[1]  # memory keeps its own


def test_the_time_of_a_step_that_does_not_fit_is_called_hypothetical(cli):
    """Seed 002: d32 on one RTX 4070 does not fit; the time line must not read as a plan."""
    code, out, err = cli("estimate", "nanochat", "--preset", "d32", "-H", "rtx-4070")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("DOES NOT FIT")
    assert lines[2].startswith("time if it fit: ") and "for 37.58B token on 1x RTX 4070" in lines[2]
