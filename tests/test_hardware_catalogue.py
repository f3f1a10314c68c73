"""Checks on the GPU catalogue (hardware/*.toml) that need no engine.

Pure and fast: no costmodel import, no pint. Units are checked with a regex and a small
table of scale factors written here. The trap tests redo the datasheet arithmetic
independently (cores x clock, sparse / 2), so a typo in a TOML file cannot hide behind
another copy of the same typo.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HARDWARE_DIR = Path(__file__).resolve().parents[1] / "hardware"
DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "hardware.md"

# Every file the catalogue promises (the brief's list and the cards users asked about, issue 10);
# more may be added.
REQUIRED_IDS = {
    "rtx-3060", "rtx-3090", "rtx-4070", "rtx-4070-ti", "rtx-4080", "rtx-4090",
    "l4", "l40s",
    "a100-40gb-sxm", "a100-80gb-sxm", "a100-40gb-pcie", "a100-80gb-pcie",
    "h100-sxm", "h100-pcie", "h200-sxm", "mi300x",
    "rtx-5090", "rtx-5080", "rtx-4080-super", "rtx-4070-super", "rtx-4070-ti-super",
    "rtx-4060-ti-16gb", "rtx-4070-laptop", "rtx-a6000", "rtx-6000-ada", "h800-sxm", "b200",
}

# FP16/BF16 with FP32 accumulate at half the FP16-accumulate rate: GeForce Ampere, Ada and
# Blackwell, and the RTX 6000 Ada (taken as its data-centre twin, the L40).
HALF_RATE_IDS = {
    "rtx-3060", "rtx-3090", "rtx-4070", "rtx-4070-ti", "rtx-4080", "rtx-4090",
    "rtx-4060-ti-16gb", "rtx-4070-laptop", "rtx-4070-super", "rtx-4070-ti-super", "rtx-4080-super",
    "rtx-5080", "rtx-5090", "rtx-6000-ada",
}
# FP32 accumulate at full rate: data-centre parts, and the RTX A6000 (as its twin, the A40).
FULL_RATE_IDS = {
    "l4", "l40s", "a100-40gb-sxm", "a100-80gb-sxm", "a100-40gb-pcie", "a100-80gb-pcie",
    "h100-sxm", "h100-pcie", "h200-sxm", "h800-sxm", "b200", "mi300x", "rtx-a6000",
}

# Unit of each numeric key -> accepted unit spellings and their factor to the base unit
# (byte, byte/s, FLOP/s, W). Memory sizes are binary; bandwidths decimal (as vendors print them).
MEMORY_UNITS = {"GiB": 2**30, "MiB": 2**20}
BANDWIDTH_UNITS = {"GB/s": 1e9, "TB/s": 1e12}
FLOPS_UNITS = {"GFLOP/s": 1e9, "TFLOP/s": 1e12, "PFLOP/s": 1e15}
POWER_UNITS = {"W": 1.0, "kW": 1e3}
NUMERIC_KEYS = {
    "gpu_memory": MEMORY_UNITS,
    "gpu_memory_usable": MEMORY_UNITS,
    "mem_bandwidth": BANDWIDTH_UNITS,
    "peak_flops_fp32": FLOPS_UNITS,
    "peak_flops_tf32": FLOPS_UNITS,
    "peak_flops_bf16": FLOPS_UNITS,
    "peak_flops_fp16": FLOPS_UNITS,
    "peak_flops_fp16_acc16": FLOPS_UNITS,
    "peak_flops_fp8": FLOPS_UNITS,
    "board_power": POWER_UNITS,
    "interconnect_bandwidth": BANDWIDTH_UNITS,
    "l2_cache": MEMORY_UNITS,
}
STRING_KEYS = {"interconnect"}
# measured share of the rated dense peak a card's matmuls reach (the time model's hfu_ceiling): a plain number
RATIO_KEYS = {"hfu_ceiling"}
OPTIONAL_KEYS = {"peak_flops_fp8", "interconnect", "l2_cache"}  # fp8: omitted on parts without FP8
REQUIRED_KEYS = set(NUMERIC_KEYS) - OPTIONAL_KEYS

QUANTITY_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?) ([A-Za-z]+(?:/s)?)$")


def _files() -> list[Path]:
    return sorted(HARDWARE_DIR.glob("*.toml"))


def _load(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


CATALOGUE = {p.stem: _load(p) for p in _files()}


def value(card_id: str, key: str) -> float:
    """The value of `key` for `card_id` in its base unit (byte, byte/s, FLOP/s, W)."""
    text = CATALOGUE[card_id]["values"][key]
    m = QUANTITY_RE.match(text)
    assert m, f"{card_id}.{key}: {text!r} is not 'NUMBER UNIT'"
    return float(m.group(1)) * NUMERIC_KEYS[key][m.group(2)]


def tflops(card_id: str, key: str) -> float:
    return value(card_id, key) / 1e12


def close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel)


ids = pytest.mark.parametrize("card_id", sorted(CATALOGUE))


# --- structure -----------------------------------------------------------------------------

def test_catalogue_has_the_promised_cards():
    missing = REQUIRED_IDS - set(CATALOGUE)
    assert not missing, f"missing hardware files: {sorted(missing)}"


def test_every_card_is_classified_half_or_full_rate():
    # A new card must be put in one class so the accumulate-rate trap is checked for it.
    assert not HALF_RATE_IDS & FULL_RATE_IDS
    unclassified = set(CATALOGUE) - HALF_RATE_IDS - FULL_RATE_IDS
    assert not unclassified, f"classify in this test: {sorted(unclassified)}"


@ids
def test_header_fields(card_id):
    card = CATALOGUE[card_id]
    for key in ("name", "vendor", "doc"):
        assert isinstance(card.get(key), str) and card[key].strip(), f"{card_id}: {key} missing"
    aliases = card.get("aliases")
    assert isinstance(aliases, list) and aliases, f"{card_id}: aliases must be a non-empty list"
    for alias in aliases:
        assert isinstance(alias, str) and alias == alias.lower() and alias.strip() == alias, alias
        assert alias != card_id, f"{card_id}: the file id is an alias automatically"
    assert len(set(aliases)) == len(aliases), f"{card_id}: duplicate alias"
    notes = card.get("notes", [])
    assert isinstance(notes, list) and all(isinstance(n, str) and n.strip() for n in notes)
    assert card_id == card_id.lower() and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", card_id)


def test_aliases_are_unique_across_the_catalogue():
    seen: dict[str, str] = {card_id: card_id for card_id in CATALOGUE}
    for card_id, card in CATALOGUE.items():
        for alias in card["aliases"]:
            assert alias not in seen, f"alias {alias!r} of {card_id} also names {seen[alias]}"
            seen[alias] = card_id


@ids
def test_every_value_has_a_source(card_id):
    card = CATALOGUE[card_id]
    values, sources = card.get("values", {}), card.get("sources", {})
    assert values, f"{card_id}: no [values]"
    for key in values:
        src = sources.get(key)
        assert isinstance(src, str) and len(src.strip()) >= 10, f"{card_id}: no source for {key}"
    assert set(sources) <= set(values), f"{card_id}: sources without values {set(sources) - set(values)}"


@ids
def test_keys_and_units(card_id):
    values = CATALOGUE[card_id]["values"]
    unknown = set(values) - set(NUMERIC_KEYS) - STRING_KEYS - RATIO_KEYS
    assert not unknown, f"{card_id}: unknown keys {sorted(unknown)}"
    missing = REQUIRED_KEYS - set(values)
    assert not missing, f"{card_id}: missing keys {sorted(missing)}"
    for key, text in values.items():
        if key in RATIO_KEYS:
            assert isinstance(text, float) and 0.3 < text < 1.5, f"{card_id}.{key}: a share of the rated peak"
            continue
        assert isinstance(text, str), f"{card_id}.{key} must be a string with a unit"
        if key in STRING_KEYS:
            assert text.strip() and not QUANTITY_RE.match(text), f"{card_id}.{key} is descriptive text"
            continue
        m = QUANTITY_RE.match(text)
        assert m, f"{card_id}.{key}: {text!r} is not 'NUMBER UNIT'"
        assert m.group(2) in NUMERIC_KEYS[key], f"{card_id}.{key}: unit {m.group(2)!r} not allowed"
        assert float(m.group(1)) > 0


@ids
def test_memory_is_binary_and_usable_is_a_bit_less(card_id):
    assert CATALOGUE[card_id]["values"]["gpu_memory"].endswith(" GiB"), "sold memory is in GiB"
    sold, usable = value(card_id, "gpu_memory"), value(card_id, "gpu_memory_usable")
    assert 0.90 * sold <= usable <= sold * 1.025, (card_id, sold, usable)


@ids
def test_precision_ordering(card_id):
    fp32, tf32 = tflops(card_id, "peak_flops_fp32"), tflops(card_id, "peak_flops_tf32")
    bf16, fp16 = tflops(card_id, "peak_flops_bf16"), tflops(card_id, "peak_flops_fp16")
    acc16 = tflops(card_id, "peak_flops_fp16_acc16")
    assert close(bf16, fp16, 1e-9), "BF16 and FP16 (both FP32 accumulate) run at the same rate"
    assert fp32 <= tf32 * 1.001 <= bf16 * 1.001 <= acc16 * 1.001
    if "peak_flops_fp8" in CATALOGUE[card_id]["values"]:
        assert tflops(card_id, "peak_flops_fp8") >= bf16


# --- the traps, as independent arithmetic --------------------------------------------------

@pytest.mark.parametrize("card_id", sorted(HALF_RATE_IDS))
def test_geforce_fp32_accumulate_is_half_rate(card_id):
    assert close(tflops(card_id, "peak_flops_bf16"), tflops(card_id, "peak_flops_fp16_acc16") / 2, 1e-3)


@pytest.mark.parametrize("card_id", sorted(FULL_RATE_IDS))
def test_datacentre_fp32_accumulate_is_full_rate(card_id):
    assert close(tflops(card_id, "peak_flops_bf16"), tflops(card_id, "peak_flops_fp16_acc16"), 1e-9)


# (cuda cores, boost GHz, published values' relative precision): cards whose tensor rates
# follow from cores x 2 FLOP x clock x ratio (Ada and GA10x whitepapers).
GEFORCE_SHADERS = {
    "rtx-4070": (5888, 2.475, 1e-3),
    "rtx-4070-ti": (7680, 2.610, 1e-3),
    "rtx-4080": (9728, 2.505, 1e-3),
    "rtx-4090": (16384, 2.520, 1e-3),
    "rtx-3060": (3584, 1.777, 1e-3),
    "rtx-3090": (10496, 1.695, 5e-3),  # GA102 whitepaper rounds to 71 / 142
    "rtx-4080-super": (10240, 2.550, 1e-3),
    "rtx-4070-ti-super": (8448, 2.610, 1e-3),
    "rtx-4070-super": (7168, 2.475, 1e-3),
    "rtx-4060-ti-16gb": (4352, 2.535, 1e-3),
    "rtx-4070-laptop": (4608, 2.175, 1e-3),  # at the top (115 W) boost clock
    "rtx-6000-ada": (18176, 2.505, 1e-3),
    # GeForce Blackwell keeps Ada's ratios (RTX Blackwell whitepaper, RTX 5090 column)
    "rtx-5090": (21760, 2.407, 1e-3),
    "rtx-5080": (10752, 2.617, 1e-3),
}


@pytest.mark.parametrize("card_id", sorted(GEFORCE_SHADERS))
def test_geforce_rates_from_cores_and_clock(card_id):
    cores, ghz, rel = GEFORCE_SHADERS[card_id]
    fp32 = cores * 2 * ghz * 1e9 / 1e12  # non-tensor FMA = 2 FLOP
    assert close(tflops(card_id, "peak_flops_fp32"), fp32, 5e-3)
    assert close(tflops(card_id, "peak_flops_tf32"), fp32, 5e-3)  # TF32 tensor = 1x FP32
    assert close(tflops(card_id, "peak_flops_bf16"), 2 * fp32, rel)  # FP32-acc tensor = 2x
    assert close(tflops(card_id, "peak_flops_fp16_acc16"), 4 * fp32, rel)  # FP16-acc = 4x
    if "peak_flops_fp8" in CATALOGUE[card_id]["values"]:  # Ada: FP8 with FP32 accumulate = 4x
        assert close(tflops(card_id, "peak_flops_fp8"), 4 * fp32, rel)


def test_rtx_4070_bf16_worked_example():
    # 5,888 cores x 2 FLOP x 2.475 GHz x 2 (tensor FP32-accumulate = 2x FP32 on Ada)
    assert close(tflops("rtx-4070", "peak_flops_bf16"), 5888 * 2 * 2.475e9 * 2 / 1e12, 1e-3)
    assert close(tflops("rtx-4070", "peak_flops_bf16"), 58.3, 1e-3)
    # NVIDIA's "466 AI TOPS" = FP8, 2:4 sparse, FP16 accumulate = 4 x the FP32-acc FP8 figure.
    assert close(tflops("rtx-4070", "peak_flops_fp8") * 4, 466.4, 2e-3)


@pytest.mark.parametrize(
    "card_id,key,sparse",
    [
        # datasheet figure "with sparsity" -> dense = half
        ("h100-sxm", "peak_flops_bf16", 1979),
        ("h100-sxm", "peak_flops_fp16", 1979),
        ("h100-sxm", "peak_flops_tf32", 989),
        ("h100-sxm", "peak_flops_fp8", 3958),
        ("h200-sxm", "peak_flops_bf16", 1979),
        ("h200-sxm", "peak_flops_fp8", 3958),
        ("h100-pcie", "peak_flops_bf16", 1513),
        ("h100-pcie", "peak_flops_tf32", 756),
        ("h100-pcie", "peak_flops_fp8", 3026),
        ("a100-40gb-sxm", "peak_flops_bf16", 624),
        ("a100-80gb-sxm", "peak_flops_bf16", 624),
        ("a100-40gb-pcie", "peak_flops_bf16", 624),
        ("a100-80gb-pcie", "peak_flops_bf16", 624),
        ("a100-80gb-sxm", "peak_flops_tf32", 312),
        ("l4", "peak_flops_bf16", 242),
        ("l4", "peak_flops_tf32", 120),
        ("l4", "peak_flops_fp8", 485),
        ("l40s", "peak_flops_tf32", 366),
        ("l40s", "peak_flops_fp8", 1466),
        ("mi300x", "peak_flops_bf16", 2614.9),
        ("mi300x", "peak_flops_fp8", 5229.8),
        ("mi300x", "peak_flops_tf32", 1307.4),
        ("h800-sxm", "peak_flops_bf16", 1979),
        ("h800-sxm", "peak_flops_tf32", 989),
        ("h800-sxm", "peak_flops_fp8", 3958),
        ("b200", "peak_flops_bf16", 4500),  # HGX B200 sheet: "FP16/BF16 4.5 PFLOPS" with sparsity
        ("b200", "peak_flops_tf32", 2200),
        ("b200", "peak_flops_fp8", 9000),
        ("rtx-a6000", "peak_flops_bf16", 309.7),  # datasheet "Tensor Performance 309.7"
        ("rtx-a6000", "peak_flops_tf32", 154.8),
        ("rtx-6000-ada", "peak_flops_fp16_acc16", 728.5),
    ],
)
def test_dense_is_half_the_sparse_datasheet_figure(card_id, key, sparse):
    assert close(tflops(card_id, key), sparse / 2, 1e-3)


# Headline "AI TOPS" on GeForce product pages are sparse low-precision numbers with the faster
# accumulator: Ada = FP8, 2:4 sparse, FP16 accumulate = 4 x dense FP8 with FP32 accumulate;
# Blackwell = FP4, 2:4 sparse = 8 x dense FP8 with FP32 accumulate (and 16 x dense BF16).
@pytest.mark.parametrize(
    "card_id,ai_tops,factor",
    [
        ("rtx-4070", 466, 4), ("rtx-4070-ti", 641, 4),
        ("rtx-4070-super", 568, 4), ("rtx-4070-ti-super", 706, 4), ("rtx-4080-super", 836, 4),
        ("rtx-4060-ti-16gb", 353, 4), ("rtx-4070-laptop", 321, 4),
        ("rtx-5090", 3352, 8), ("rtx-5080", 1801, 8),
        ("rtx-6000-ada", 1457, 4),  # datasheet "Tensor Performance 1,457 TFLOPS" (FP8 sparse)
    ],
)
def test_headline_ai_tops_are_not_the_training_peak(card_id, ai_tops, factor):
    assert close(tflops(card_id, "peak_flops_fp8") * factor, ai_tops, 2e-3)
    # the BF16 training peak is 8x (Ada) or 16x (Blackwell FP4) below the headline number
    assert close(tflops(card_id, "peak_flops_bf16") * 2 * factor, ai_tops, 2e-3)


def test_rtx_5090_bf16_is_nanochats_fp32_accumulate_value():
    # nanochat divides by 209.5e12 for a "5090" (karpathy/nanochat nanochat/common.py@92d63d4
    # L265): the RTX Blackwell whitepaper's BF16-with-FP32-accumulate dense figure, not the
    # "838 TFLOPS FP16" (FP16 accumulate, sparse) of the spec sheets.
    assert value("rtx-5090", "peak_flops_bf16") == 209.5e12
    assert close(838 / 4, tflops("rtx-5090", "peak_flops_bf16"), 1e-9)


def test_h800_is_an_h100_with_a_slower_link():
    for key in ("peak_flops_bf16", "peak_flops_fp8", "peak_flops_tf32", "mem_bandwidth",
                "gpu_memory", "gpu_memory_usable", "board_power"):
        assert value("h800-sxm", key) == value("h100-sxm", key), key
    # NVLink 400 GB/s total on the H800 vs 900 GB/s on the H100, both per direction here
    assert value("h800-sxm", "interconnect_bandwidth") == 200e9
    assert value("h800-sxm", "interconnect_bandwidth") / value("h100-sxm", "interconnect_bandwidth") == 400 / 900


def test_b200_memory_is_180_gib_sold_and_the_driver_total_below():
    assert value("b200", "gpu_memory") == 180 * 2**30 == 193_273_528_320
    usable = value("b200", "gpu_memory_usable")
    assert usable == 183_359 * 2**20
    assert close(usable / 2**30, 179.06, 1e-3) and usable < value("b200", "gpu_memory")


def test_workstation_cards_follow_their_data_centre_twins():
    # RTX A6000 ~ A40 (full rate, datasheet 149.7 at 1.74 GHz); RTX 6000 Ada ~ L40 (half rate,
    # datasheet 181.05 at 2.49 GHz). Scale the twin's datasheet figure by the boost clocks.
    assert close(tflops("rtx-a6000", "peak_flops_bf16"), 149.7 * 1.800 / 1.740, 2e-3)
    assert close(tflops("rtx-6000-ada", "peak_flops_bf16"), 181.05 * 2.505 / 2.490, 2e-3)
    # both hold 48 GiB; the driver shows 49,140 MiB with ECC off
    for card_id in ("rtx-a6000", "rtx-6000-ada"):
        assert value(card_id, "gpu_memory") == 48 * 2**30 == 51_539_607_552
        assert CATALOGUE[card_id]["values"]["gpu_memory_usable"] == "49140 MiB"


def test_laptop_4070_is_not_the_desktop_4070():
    assert value("rtx-4070-laptop", "gpu_memory") == 8 * 2**30 == 8_589_934_592
    assert value("rtx-4070", "gpu_memory") == 12 * 2**30
    assert tflops("rtx-4070-laptop", "peak_flops_bf16") < 0.7 * tflops("rtx-4070", "peak_flops_bf16")
    # the catalogue figure is the top (115 W, 2,175 MHz) configuration; a 35 W laptop boosts to
    # 1,230 MHz, 43 % lower
    assert close(1.230 / 2.175, 0.566, 1e-3)


@pytest.mark.parametrize(
    "card_id,gib",
    [("rtx-5090", 32), ("rtx-5080", 16), ("rtx-4080-super", 16), ("rtx-4070-ti-super", 16),
     ("rtx-4070-super", 12), ("rtx-4060-ti-16gb", 16), ("rtx-4070-laptop", 8)],
)
def test_geforce_memory_is_binary(card_id, gib):
    assert value(card_id, "gpu_memory") == gib * 2**30


def test_l40s_datasheet_inconsistency_is_bounded():
    # The L40S datasheet prints 362.05 dense but 733* sparse for BF16 (733/2 = 366.5).
    assert close(tflops("l40s", "peak_flops_bf16"), 733 / 2, 0.015)


@pytest.mark.parametrize(
    "card_id,units,flop_per_clk,ghz",
    [
        ("h100-sxm", 132, 4096, 1.830),  # SMs x dense FP16 FLOP/clk/SM x tensor boost
        ("h100-pcie", 114, 4096, 1.620),
        ("a100-40gb-sxm", 108, 2048, 1.410),
        ("l4", 58, 1024, 2.040),
        ("mi300x", 304, 2048, 2.100),  # CUs
        ("h800-sxm", 132, 4096, 1.830),  # the H100 SXM die and clocks
        ("rtx-a6000", 84, 1024, 1.800),  # professional GA102: full-rate FP32 accumulate
    ],
)
def test_datacentre_bf16_from_units_and_clock(card_id, units, flop_per_clk, ghz):
    assert close(tflops(card_id, "peak_flops_bf16"), units * flop_per_clk * ghz * 1e9 / 1e12, 2e-3)


def test_mi300x_rates_per_clock():
    per_clk = 304 * 2.1e9 / 1e12
    assert close(tflops("mi300x", "peak_flops_fp32"), per_clk * 256, 1e-3)
    assert close(tflops("mi300x", "peak_flops_tf32"), per_clk * 1024, 1e-3)
    assert close(tflops("mi300x", "peak_flops_fp8"), per_clk * 4096, 1e-3)


@pytest.mark.parametrize("card_id", ["rtx-3060", "rtx-4070", "rtx-4070-ti"])
def test_12_gb_cards_are_12_gib(card_id):
    assert CATALOGUE[card_id]["values"]["gpu_memory"] == "12 GiB"
    assert value(card_id, "gpu_memory") == 12 * 2**30 == 12_884_901_888


def test_memory_totals_reported_by_the_driver():
    assert CATALOGUE["h200-sxm"]["values"]["gpu_memory_usable"] == "143771 MiB"
    assert close(value("h200-sxm", "gpu_memory_usable") / 2**30, 140.4, 1e-3)
    assert CATALOGUE["h100-sxm"]["values"]["gpu_memory_usable"] == "81559 MiB"
    assert CATALOGUE["rtx-4070"]["values"]["gpu_memory_usable"] == "12282 MiB"


def test_nanogpt_mfu_constant_is_a100_bf16():
    # nanoGPT's estimate_mfu divides by 312e12 whatever the GPU: that is the A100's dense BF16.
    for card_id in ("a100-40gb-sxm", "a100-80gb-sxm", "a100-40gb-pcie", "a100-80gb-pcie"):
        assert value(card_id, "peak_flops_bf16") == 312e12
    # ... so its "MFU" on an RTX 4070 reads 58.3/312 = 18.7 % of what the card can actually do.
    assert close(value("rtx-4070", "peak_flops_bf16") / 312e12, 0.1869, 2e-3)


def test_h100_vs_rtx_4070_ratio():
    h100, r4070 = tflops("h100-sxm", "peak_flops_bf16"), tflops("rtx-4070", "peak_flops_bf16")
    assert close(h100 / r4070, 16.97, 2e-3)  # the right BF16 training ratio
    # the often-quoted ~8.5x compares against the 4070's FP16-accumulate rate, which training doesn't use
    assert close(h100 / tflops("rtx-4070", "peak_flops_fp16_acc16"), 8.49, 2e-3)
    assert close(value("h100-sxm", "mem_bandwidth") / value("rtx-4070", "mem_bandwidth"), 6.65, 2e-3)


def test_interconnect_is_per_direction():
    assert value("h100-sxm", "interconnect_bandwidth") == 450e9  # NVLink4 900 GB/s total
    assert value("a100-80gb-sxm", "interconnect_bandwidth") == 300e9  # NVLink3 600 GB/s total
    assert value("h100-pcie", "interconnect_bandwidth") == 64e9  # PCIe 5.0 x16, 128 GB/s total
    assert value("rtx-4070", "interconnect_bandwidth") == 32e9  # PCIe 4.0 x16, 64 GB/s total
    assert value("mi300x", "interconnect_bandwidth") == 448e9  # 7 x 128 GB/s total / 2
    assert value("rtx-5090", "interconnect_bandwidth") == 64e9  # PCIe 5.0 x16
    assert value("rtx-4060-ti-16gb", "interconnect_bandwidth") == 16e9  # PCIe 4.0 x8
    assert value("rtx-4070-laptop", "interconnect_bandwidth") == 16e9  # PCIe 4.0 x8
    assert value("b200", "interconnect_bandwidth") == 900e9  # NVLink 5, 1.8 TB/s total


def test_docs_table_lists_every_card():
    text = DOCS_PAGE.read_text(encoding="utf-8")
    for card_id in CATALOGUE:
        assert f"`{card_id}`" in text, f"docs/hardware.md does not list {card_id}"


def test_sources_name_no_local_paths():
    # Sources must be public (URLs, documents, repo@commit), never a path on the authors' machine.
    for path in _files():
        text = path.read_text(encoding="utf-8")
        for marker in ("/work/", "/tmp/", "/home/", "file://"):
            assert marker not in text, f"{path.name} cites a local path ({marker})"
