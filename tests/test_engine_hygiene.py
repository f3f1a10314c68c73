"""The engine's own rules: layering between its modules, and the solver's caches."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "costmodel"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_engine_module_imports_the_cli():
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m == "costmodel.cli" or m.startswith("costmodel.cli."))
        for path in ENGINE.glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_closed_forms_are_cached_by_the_equations_not_by_identity(toy, tmp_path):
    """Two scenarios whose `wall_time` formula is the same object but whose upstream
    `flops_per_token` differs (6N vs 8N) compose different equations: each gets its own closed
    form for mfu, and each answer is that system's exact inverse (mfu = F*T*iters / (peak*time))."""
    import attrs
    import pytest

    from costmodel import api, inverse
    from costmodel.solver import numeric_inputs

    eight = tmp_path / "toy8.toml"
    eight.write_text(Path(toy).read_text().replace('expr = "6 * FLOP/(param*token) * n_params"',
                                                   'expr = "8 * FLOP/(param*token) * n_params"'))
    six_n = api.estimate("toy", plugins=[toy], hardware="rtx-4070").evaluation.scenario
    eight_n = api.estimate("toy", plugins=[str(eight)], hardware="rtx-4070").evaluation.scenario
    assert six_n.formulas["flops_per_token"].program != eight_n.formulas["flops_per_token"].program
    mixed = attrs.evolve(six_n, formulas={**six_n.formulas,
                                          "flops_per_token": eight_n.formulas["flops_per_token"]})
    assert mixed.formulas["wall_time"] is six_n.formulas["wall_time"]

    forms = [inverse._closed_form(s, "mfu", "wall_time") for s in (six_n, mixed)]
    assert all(forms) and forms[0][0][0] != forms[1][0][0]

    hour = 3600.0
    n_params = 12 * 12 * 768**2 + 50304 * 768
    tokens = 1000 * 8 * 1024 * 4  # iters x micro_batch x seq_len x grad_accum
    for scenario, per_param in ((six_n, 6), (mixed, 8)):
        solved = inverse.solve_for(scenario, numeric_inputs(scenario), "mfu", "wall_time", hour)
        assert solved.method == "closed form"
        assert solved.value == pytest.approx(per_param * n_params * tokens / (58.3e12 * hour), rel=1e-9)


def test_an_inputs_provenance_is_data(toy):
    from costmodel import api
    from costmodel.scenario import Origin, Source

    r = api.estimate("toy", plugins=[toy], preset="small", hardware="rtx-4070", values={"mfu": "0.3"})
    origins = r.evaluation.scenario.origins
    assert origins["peak_flops_bf16"] == Origin(Source.HARDWARE, "RTX 4070")
    assert origins["n_layer"] == Origin(Source.PRESET, "small")
    assert origins["mfu"].source is Source.USER
    assert r.origins["peak_flops_bf16"] == "hardware RTX 4070" and r.origins["n_layer"] == "preset small"


def test_a_cycle_of_formulas_is_named(toy, tmp_path):
    import pytest

    from costmodel import api
    from costmodel.errors import UserError

    looped = tmp_path / "loop.toml"
    looped.write_text(Path(toy).read_text().replace('expr = "peak_flops_bf16"', 'expr = "iter_time * FLOP/s/s * iteration"'))
    with pytest.raises(UserError, match="cycle: (peak_flops -> iter_time -> peak_flops|iter_time -> peak_flops -> iter_time)$"):
        api.estimate("toy", plugins=[str(looped)], hardware="rtx-4070")
