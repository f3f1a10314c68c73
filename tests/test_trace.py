"""costmodel trace: exact fitting, refusals, safety, and the traced families against the built-in ones.

The golden values are the nanoGPT family's own formulas (model.py@3adf61e read by hand, checked
against PyTorch in tests/validation/test_nanogpt_reference.py) and, for the Llama-shaped model, the
generic parameter and FLOP formulas of its features written out here from their definitions.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from costmodel.tracing import fit as fitting

DATA = Path(__file__).parent / "data" / "trace"
L, d, H, KV, F, V, T, bias = sp.symbols("n_layer d_model n_head n_kv_head d_ff vocab_size seq_len bias",
                                        positive=True)
n_embd = sp.Symbol("n_embd", positive=True)


def test_fit_is_exact_and_refuses_rounding():
    rng = random.Random(1)
    points = [{"a": rng.randint(2, 40), "b": rng.randint(2, 40)} for _ in range(14)]
    expr = fitting.fit("q", points, [3 * p["a"] ** 2 * p["b"] + 7 * p["b"] for p in points], {"a": 2, "b": 1})
    assert expr == 3 * sp.Symbol("a", positive=True) ** 2 * sp.Symbol("b", positive=True) + 7 * sp.Symbol("b", positive=True)
    with pytest.raises(fitting.NotPolynomial, match=r"q is not a polynomial .* miss: at a=\d+, b=\d+: measured"):
        fitting.fit("q", points, [p["a"] * p["b"] // 3 for p in points], {"a": 2, "b": 1})
    with pytest.raises(fitting.Underdetermined):
        fitting.fit("q", points[:5], [1] * 5, {"a": 2, "b": 1})


def _symbolic(expr: sp.Expr, rename: dict) -> sp.Expr:
    return sp.expand(expr.subs({sp.Symbol(k, positive=True): v for k, v in rename.items()}))


@pytest.fixture(scope="module")
def nanogpt():
    pytest.importorskip("torch")
    from costmodel.tracing import trace

    return trace(f"{DATA / 'nanogpt_factory.py'}:gpt", ["n_layer", "n_head", "n_embd", "vocab_size", "bias"],
                 {"attention": "flash"})


def _builtin(target: str, condition: str | None = None) -> sp.Expr:
    """A nanoGPT family formula as sympy, units dropped, block_size read as seq_len."""
    from costmodel.expressions import parse
    from costmodel_nanogpt import NANOGPT

    (f,) = [f for f in NANOGPT.formulas if f.target == target and f.condition == condition]
    units = {"param", "FLOP", "token", "sequence"}
    return sp.expand(parse(f.expr, lambda n: sp.Integer(1) if n in units else
                           (T if n == "block_size" else sp.Symbol(n, positive=True))))


def test_nanogpt_parameters_and_flops_are_the_families_formulas(nanogpt):
    rename = {"T__": T}
    assert _symbolic(nanogpt.formulas["n_params"], rename) == _builtin("n_params")
    assert _symbolic(nanogpt.formulas["flops_per_token_exact"], rename) == _builtin(
        "flops_per_token_exact", 'attention == "flash"')
    assert nanogpt.choices == {"mlp": "gelu", "norm": "layernorm", "attention": "flash", "positions": "learned"}
    # MemTracker's step peak at the base shape holds every fp32 weight and gradient once
    at_base = {sp.Symbol(k, positive=True): v for k, v in nanogpt.base.items()}
    at_base[sp.Symbol("T__", positive=True)] = nanogpt.base["block_size"]
    n = nanogpt.formulas["n_params"].subs(at_base)
    assert nanogpt.peak["parameter"] == nanogpt.peak["gradient"] == 4 * n
    assert nanogpt.peak["total"] > 4 * 4 * n  # weights, grads and AdamW's two states, at least


def test_nanogpt_activations_within_a_tenth_of_a_percent(nanogpt, tmp_path):
    from costmodel.api import estimate, registry
    from costmodel.tracing.family import to_toml

    path = tmp_path / "gpt.toml"
    path.write_text(to_toml(nanogpt, "tracedgpt", registry().quantities))
    for shape in ({"n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50304, "seq_len": 1024,
                   "micro_batch": 12, "bias": False},
                  {"n_layer": 4, "n_head": 4, "n_embd": 256, "vocab_size": 65, "seq_len": 256,
                   "micro_batch": 8, "bias": True}):
        values = {"precision": "fp32", "attention": "flash", "compile": False, **shape}
        built_in = estimate("nanogpt", values=values).results
        traced = estimate("tracedgpt", values=values, plugins=[str(path)]).results
        assert traced["n_params"].m == built_in["n_params"].m
        for name in ("mem_activations", "mem_logits_saved"):
            assert traced[name].m == pytest.approx(built_in[name].m, rel=1e-3)


def test_llama_shaped_model_matches_the_generic_feature_formulas(tmp_path):
    pytest.importorskip("torch")
    from costmodel.tracing import trace

    t = trace(f"{DATA / 'llama_small.py'}:build", ["n_layer", "d_model", "n_kv_head", "d_ff", "vocab_size"],
              {"n_head": 4})
    rename = {"T__": T}
    q, kv = d, KV * d / 4  # four query heads of d / 4 channels
    # core features.py: matrices 2 d q + 2 d kv + 3 d d_ff per layer (gated), untied embedding and head,
    # RMSNorm weights 2 d per layer and the final d; no position table (rotary)
    matrices = L * (2 * d * q + 2 * d * kv + 3 * d * F)
    assert _symbolic(t.formulas["n_params"], rename) == sp.expand(matrices + 2 * V * d + 2 * L * d + d)
    # flops_per_token_exact: 6 per matmul weight and token + 14 h q T per layer for flash attention
    assert _symbolic(t.formulas["flops_per_token_exact"], rename) == sp.expand(6 * (matrices + V * d) + 14 * L * q * T)
    assert t.choices == {"mlp": "swiglu", "norm": "rmsnorm", "attention": "flash", "positions": "rotary"}
    assert _symbolic(t.formulas["n_kv_head"], rename) == KV
    assert t.formulas["tied_embeddings"] == 0 and t.formulas["norm_weight"] == 1


def test_rounded_width_is_refused_with_the_quantity_and_shapes():
    pytest.importorskip("torch")
    from costmodel.errors import UserError
    from costmodel.tracing import trace

    with pytest.raises(UserError, match=r"is not a polynomial .* in n_embd \(measured n_embd=96: .*n_embd=144"):
        trace(f"{DATA / 'rounded.py'}:Rounded", ["n_embd"])


def test_without_torch_one_line_and_exit_1(monkeypatch, capsys):
    from costmodel.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)
    code = main(["trace", f"{DATA / 'rounded.py'}:Rounded", "--vary", "n_embd", "-o", "x.toml"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == "error: costmodel trace needs PyTorch: pip install 'costmodel[trace]'\n"


def test_help_says_it_runs_user_code_and_no_other_command_imports_tracing():
    from typer.testing import CliRunner

    from costmodel.cli import app

    out = CliRunner().invoke(app, ["trace", "--help"]).output
    assert "RUNS YOUR CODE" in out
    code = ("import sys; from costmodel import api; api.estimate('nanogpt'); "
            "print(sorted(m for m in sys.modules if m.startswith('costmodel.tracing') or m == 'torch'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_docs_walk_through_traces_and_answers(tmp_path, monkeypatch, capsys):
    """docs/trace.md's model, traced from the CLI; the family answers estimate, solve and explain."""
    pytest.importorskip("torch")
    import re

    from costmodel.cli import main

    text = (Path(__file__).parents[1] / "docs" / "trace.md").read_text()
    code = re.search(r"<!-- trace: parallel.py -->\n```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "parallel.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    assert main(["trace", "parallel.py:ParallelLM", "--vary", "n_layer,d_model", "-o", "parallel.toml"]) == 0
    toml = (tmp_path / "parallel.toml").read_text()
    assert "sha256:" in toml and 'mlp = "swiglu"' in toml and "tied_embeddings = false" in toml
    common = ["parallellm", "--plugin", "parallel.toml", "-H", "h100-sxm"]
    capsys.readouterr()
    assert main(["estimate", *common, "--set", "micro_batch=8", "--json"]) == 0
    import json

    results = json.loads(capsys.readouterr().out)["results"]
    # by hand from the code, d=256, d_ff=512, L=4, V=1000, T=128: per block 4 d^2 + 3 d d_ff + 2 d,
    # embedding and head 2 V d, positions T d, final norm 2 d
    d, ff, layers, vocab, seq = 256, 512, 4, 1000, 128
    assert results["n_params"]["value"] == layers * (4 * d * d + 3 * d * ff + 2 * d) + 2 * vocab * d + seq * d + 2 * d
    assert main(["solve", *common, "--find", "micro_batch", "--given", "mem_peak=60 GiB"]) == 0
    assert main(["explain", *common, "--target", "n_params"]) == 0
