"""The GPU catalogue's traps, seen through the engine (values as pint quantities, peak by precision).

Expected numbers are worked out here from the datasheets' arithmetic (the project
docs/hardware.md and each card file): cores x 2 FLOP x boost clock, sparse / 2, "12 GB" = 12 GiB.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costmodel import api

HARDWARE_DIR = Path(__file__).resolve().parents[1] / "hardware"
CARDS = sorted(p.stem for p in HARDWARE_DIR.glob("*.toml"))


def tflops(q) -> float:
    return q.m_as("FLOP/s") / 1e12


def test_rtx_4070_bf16_is_the_fp32_accumulate_rate():
    v = api.hardware_values("rtx-4070")
    # 5,888 CUDA cores x 2 FLOP x 2.475 GHz = 29.15 TFLOP/s FP32; BF16 with FP32 accumulate = 2x that
    fp32 = 5888 * 2 * 2.475e9 / 1e12
    assert tflops(v["peak_flops_fp32"]) == pytest.approx(fp32, rel=0.002)
    assert tflops(v["peak_flops_bf16"]) == pytest.approx(58.3, abs=1e-9)
    assert tflops(v["peak_flops_bf16"]) == pytest.approx(2 * fp32, rel=0.002)
    # ... which is half the FP16-accumulate rate (the "8-9x slower than an H100" trap)
    assert tflops(v["peak_flops_bf16"]) == pytest.approx(tflops(v["peak_flops_fp16_acc16"]) / 2, rel=1e-9)


def test_h100_sxm_bf16_is_half_the_sparse_datasheet_number():
    v = api.hardware_values("h100-sxm")
    assert tflops(v["peak_flops_bf16"]) == pytest.approx(989.4, abs=1e-9)
    assert tflops(v["peak_flops_bf16"]) == pytest.approx(1979 / 2, rel=2e-4)  # "1,979*" with sparsity
    assert tflops(v["peak_flops_fp16"]) == tflops(v["peak_flops_bf16"])  # data-centre: full-rate FP32 acc


def test_h100_over_4070_is_17x_not_8x():
    ratio = tflops(api.hardware_values("h100-sxm")["peak_flops_bf16"]) / tflops(
        api.hardware_values("rtx-4070")["peak_flops_bf16"])
    assert ratio == pytest.approx(989.4 / 58.3)
    assert ratio > 16.9


def test_card_memory_sold_as_gb_is_gib():
    v = api.hardware_values("rtx-4070")
    assert v["gpu_memory"].m_as("byte") == 12 * 2**30  # 12,884,901,888
    assert v["gpu_memory_usable"].m_as("byte") == 12282 * 2**20
    assert api.hardware_values("h100-sxm")["gpu_memory"].m_as("byte") == 80 * 2**30


@pytest.mark.parametrize("alias", ["rtx-4070", "4070", "RTX 4070", "nvidia geforce rtx 4070"])
def test_aliases_name_the_same_card(alias):
    assert tflops(api.hardware_values(alias)["peak_flops_bf16"]) == pytest.approx(58.3)


@pytest.mark.parametrize(
    "precision, key",
    [("amp-bf16", "peak_flops_bf16"), ("bf16", "peak_flops_bf16"), ("amp-fp16", "peak_flops_fp16"),
     ("fp32", "peak_flops_tf32")],
)
def test_peak_flops_follows_precision(precision, key):
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", values={"precision": precision})
    want = api.hardware_values("rtx-4070")[key]
    assert r["peak_flops"].m_as("FLOP/s") == pytest.approx(want.m_as("FLOP/s"))


def test_amp_fp16_on_geforce_uses_fp32_accumulate_not_the_fp16_accumulate_rate():
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", values={"precision": "amp-fp16"})
    assert tflops(r["peak_flops"]) == pytest.approx(58.3)  # not 116.6


def test_peak_flops_can_be_given():
    r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070",
                     values={"precision": "fp32", "peak_flops": "29.1 TFLOP/s"})
    assert tflops(r["peak_flops"]) == pytest.approx(29.1)


@pytest.mark.parametrize("card", CARDS)
def test_every_card_gives_a_time_and_energy_estimate(card):
    r = api.estimate("nanogpt", preset="gpt2", hardware=card)
    mfu = r["mfu"].m_as("")
    assert 0.02 < mfu < 0.83
    assert r["iter_time"].m_as("s/iteration") > 0
    assert 0 < r["gpu_power"].m_as("W") <= r["board_power"].m_as("W")
    assert r["energy"].m_as("kWh") > 0


CARD_TOML = """\
name = "Lab card"
doc = "a made-up card for a test: round numbers"
vendor = "test"

[values]
gpu_memory = "16 GiB"
mem_bandwidth = "1 TB/s"
peak_flops_fp32 = "25 TFLOP/s"
peak_flops_tf32 = "50 TFLOP/s"
peak_flops_bf16 = "100 TFLOP/s"
peak_flops_fp16 = "100 TFLOP/s"
board_power = "300 W"
interconnect_bandwidth = "25 GB/s"

[sources]
gpu_memory = "made up for the test"
mem_bandwidth = "made up for the test"
peak_flops_fp32 = "made up for the test"
peak_flops_tf32 = "made up for the test"
peak_flops_bf16 = "made up for the test"
peak_flops_fp16 = "made up for the test"
board_power = "made up for the test"
interconnect_bandwidth = "made up for the test"
"""


def test_a_users_card_file_given_by_path(cli, tmp_path, monkeypatch):
    (tmp_path / "card.toml").write_text(CARD_TOML)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "--hardware", "./card.toml", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["hardware"] == "Lab card"
    results = data["results"]
    assert results["peak_flops"]["value"] == pytest.approx(100e12)
    # the time model runs on the card's numbers: iter_time = model FLOPs per step / (mfu x peak)
    step_flops = results["flops_per_token"]["value"] * results["tokens_per_iter"]["value"]
    assert results["iter_time"]["value"] == pytest.approx(step_flops / (results["mfu"]["value"] * 100e12))


def test_a_card_file_missing_a_source_is_one_line_error(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(CARD_TOML.replace('board_power = "made up for the test"\n', ""))
    code, out, err = cli("estimate", "nanogpt", "--preset", "gpt2", "--hardware", str(path))
    assert code == 1
    assert err.startswith("error:") and "board_power" in err and err.count("\n") == 1
