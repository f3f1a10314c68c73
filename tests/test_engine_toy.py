"""The engine end to end on a toy family declared in TOML (tests/data/toy.toml).

Expected numbers are worked out here from the toy's definitions and the RTX 4070's datasheet
figures (58.3 TFLOP/s dense BF16 with FP32 accumulate; 12,282 MiB reported by nvidia-smi).
"""

import json
import math

import pytest

from costmodel import api
from costmodel.errors import UserError

N_LAYER, D, VOCAB = 12, 768, 50304
N_PARAMS = 12 * N_LAYER * D**2 + VOCAB * D  # = 123,568,128
TOKENS_PER_ITER = 8 * 1024 * 4 * 1  # micro_batch x seq_len x grad_accum x n_gpus
PEAK = 58.3e12
ITER_TIME = 6 * N_PARAMS * TOKENS_PER_ITER / (0.4 * PEAK)
USABLE = 12282 * 2**20


def test_estimate_forward(toy):
    r = api.estimate("toy", plugins=[toy], hardware="rtx-4070")
    assert r.results["n_params"].m_as("param") == N_PARAMS == 123_568_128
    assert r.results["flops_per_token"].m_as("FLOP/token") == 6 * N_PARAMS
    assert r.results["tokens_per_iter"].m_as("token/iteration") == TOKENS_PER_ITER
    assert r.results["total_tokens"].m_as("token") == 1000 * TOKENS_PER_ITER
    assert r.results["iter_time"].m_as("s/iteration") == pytest.approx(ITER_TIME, rel=1e-12)
    assert r.results["wall_time"].m_as("h") == pytest.approx(1000 * ITER_TIME / 3600, rel=1e-12)
    assert r.inputs["micro_batch"].m_as("sequence") == 8
    assert r.origins["width"] == "toy default" and r.origins["peak_flops_bf16"] == "hardware RTX 4070"


def test_presets_and_sets_layer(toy):
    r = api.estimate("toy", plugins=[toy], preset="small", values={"width": 512})
    assert r.results["n_params"].m_as("param") == 12 * 4 * 512**2 + VOCAB * 512


def test_find_total_tokens_given_wall_time(toy):
    """Inverse question, re-verified forward: iters is freed and rounded down (whole steps)."""
    r = api.solve("toy", plugins=[toy], hardware="rtx-4070", find="total_tokens",
                  given={"wall_time": "30 day"})
    iters = math.floor(30 * 86400 / ITER_TIME)
    assert r.inputs["iters"].m_as("iteration") == iters
    assert r.results["total_tokens"].m_as("token") == iters * TOKENS_PER_ITER
    assert r.results["wall_time"].m_as("s") <= 30 * 86400
    assert r.results["wall_time"].m_as("s") > 30 * 86400 - ITER_TIME
    assert any("iters" in w and "wall_time" in w for w in r.warnings)


def test_find_an_input_directly(toy):
    """`--find mfu --given wall_time=...`: mfu = FLOPs / (peak x time), a closed form."""
    r = api.solve("toy", plugins=[toy], hardware="rtx-4070", find="mfu", given={"wall_time": "1 h"})
    expected = 6 * N_PARAMS * TOKENS_PER_ITER * 1000 / (PEAK * 3600)
    assert r.inputs["mfu"].m_as("") == pytest.approx(expected, rel=1e-9)
    assert "closed form" in r.warnings[0]


def test_maximize_micro_batch_keeps_the_tokens_per_step(toy):
    """8 x 4 accumulation = 32 sequences per step: the largest divisor of 32 that fits is 32 (one
    micro-step); 33 would fit too but change the step, which the notes say."""
    r = api.solve("toy", plugins=[toy], hardware="rtx-4070", maximize="micro_batch",
                  subject_to=["mem_peak <= gpu_memory_usable"])
    per_sequence = 34 * N_LAYER * D * 1024
    largest = (USABLE - 16 * N_PARAMS) // per_sequence
    assert largest == 33
    assert r.inputs["micro_batch"].m_as("sequence") == 32
    assert r.inputs["grad_accum"].m_as("") == 1
    assert r.results["tokens_per_iter"].m_as("token/iteration") == 8 * 4 * 1024
    assert any("grad_accum 4 -> 1" in w for w in r.warnings)
    assert any("without changing the tokens per step" in w for w in r.warnings)


def test_maximize_micro_batch_with_the_accumulation_given(toy):
    r = api.solve("toy", plugins=[toy], hardware="rtx-4070", maximize="micro_batch",
                  subject_to=["mem_peak <= gpu_memory_usable"], values={"grad_accum": 1})
    per_sequence = 34 * N_LAYER * D * 1024
    expected = (USABLE - 16 * N_PARAMS) // per_sequence
    assert r.inputs["micro_batch"].m_as("sequence") == expected
    assert r.results["mem_peak"].m_as("byte") <= USABLE
    assert 16 * N_PARAMS + (expected + 1) * per_sequence > USABLE
    assert any("tokens per step grow" in w for w in r.warnings)


def test_maximize_with_a_value_bound(toy):
    r = api.solve("toy", plugins=[toy], hardware="rtx-4070", maximize="iters",
                  subject_to=["wall_time <= 2 h"])
    assert r.inputs["iters"].m_as("iteration") == math.floor(7200 / ITER_TIME)


def test_infeasible_is_a_clear_statement(toy):
    with pytest.raises(UserError) as info:
        api.solve("toy", plugins=[toy], hardware="rtx-4070", maximize="micro_batch",
                  subject_to=["mem_peak <= gpu_memory_usable"], values={"gpu_memory_usable": "1 GiB"})
    message = str(info.value)
    assert "even at micro_batch = 1" in message
    assert "needs mem_peak = 2.140 GiB" in message and "the card has 1 GiB usable" in message


def test_validity_check_rejects(toy):
    with pytest.raises(UserError, match="width must be divisible by n_layer"):
        api.estimate("toy", plugins=[toy], values={"width": 770})


def test_derived_value_given_in_estimate_frees_an_input(toy):
    r = api.estimate("toy", plugins=[toy], hardware="rtx-4070", values={"total_tokens": "1e9 token"})
    assert r.inputs["iters"].m_as("iteration") == math.floor(1e9 / TOKENS_PER_ITER)


def test_explain_text_has_three_forms(toy):
    text = api.explain("toy", plugins=[toy], hardware="rtx-4070", target="n_params")
    assert "n_params = param*(12*n_layer*width**2 + vocab*width)" in text
    assert "= param*(12*12*768**2 + 50,304*768)" in text  # same order as the symbolic line
    assert "= 123.6M param" in text
    assert "source: Kaplan et al. 2020 Table 1" in text


def test_cli_estimate_json_schema(toy, cli):
    code, out, err = cli("estimate", "toy", "--plugin", toy, "-H", "rtx-4070", "--set", "micro_batch=16", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"family", "hardware", "scenario", "answer", "feasible", "inputs", "results",
                         "warnings"}
    assert data["answer"] is None and data["feasible"] is True
    assert data["family"] == "toy" and data["hardware"] == "RTX 4070"
    assert data["inputs"]["micro_batch"] == {"value": 16.0, "unit": "sequence"}
    assert data["results"]["n_params"] == {"value": float(N_PARAMS), "unit": "param"}
    assert data["results"]["tokens_per_iter"]["value"] == 2 * TOKENS_PER_ITER
    assert data["inputs"]["precision"] == {"value": "amp-bf16", "unit": ""}


def test_cli_solve_and_explain(toy, cli):
    code, out, err = cli("solve", "toy", "--plugin", toy, "-H", "rtx-4070", "--maximize", "micro_batch",
                         "--subject-to", "mem_peak <= gpu_memory_usable")
    assert code == 0, err
    assert "micro_batch = 32 sequence" in out
    code, out, err = cli("explain", "toy", "--plugin", toy, "--target", "flops_per_token")
    assert code == 0 and "6*FLOP*n_params/(param*token)" in out.replace(" ", "")


def test_result_shows_as_table_in_a_notebook(toy):
    r = api.estimate("toy", plugins=[toy])
    assert "<table>" in r._repr_html_() and "n_params" in r._repr_html_()
    assert r._repr_markdown_().startswith("| quantity | value | meaning |")


def test_cli_solve_explain_prints_the_derivation(toy, cli):
    code, out, err = cli("solve", "toy", "--plugin", toy, "-H", "rtx-4070", "--find", "total_tokens",
                         "--given", "wall_time=2 h", "--explain")
    assert code == 0, err
    iters = math.floor(7200 / ITER_TIME)
    assert f"total_tokens = {iters * TOKENS_PER_ITER / 1e6:.1f}M token" in out  # 4 significant digits
    assert "Derivation of total_tokens" in out and "[solved: wall_time = 2 h" in out


def test_a_formula_is_compiled_again_only_when_a_name_it_reads_is_declared_anew():
    """Registry.compile keeps what it compiled per formula and declarations of the names it reads:
    the same declarations give the same compiled formula; another unit, or another dimension,
    is parsed and checked again (a dimension error each time, never a stale success)."""
    from costmodel.declarations import Formula, Quantity
    from costmodel.errors import PluginError
    from costmodel.registry import Registry

    f = Formula(target="y", expr="2 * x", doc="d", source="s")

    def compiled(unit: str):
        r = Registry()
        r.add_quantity(Quantity(name="x", doc="x", unit=unit), "p")
        r.add_quantity(Quantity(name="y", doc="y", unit="s"), "p")
        return r.compile(f, "p", None)

    seconds = compiled("s")
    assert compiled("s") is seconds and seconds.evaluate({"x": 1.5}) == 3.0
    millis = compiled("ms")
    assert millis is not seconds and millis.evaluate({"x": 1500.0}) == pytest.approx(3.0, rel=1e-12)
    for _ in range(2):
        with pytest.raises(PluginError, match="dimension error"):
            compiled("byte")
