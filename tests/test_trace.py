"""costmodel trace: exact fitting, refusals, safety, and the traced families against the built-in ones.

The golden values are the nanoGPT family's own formulas (model.py@3adf61e read by hand, checked
against PyTorch in tests/validation/test_nanogpt_reference.py) and, for the Llama-shaped model, the
generic parameter and FLOP formulas of its features written out here from their definitions.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from costmodel.tracing import fit as fitting

DATA = Path(__file__).parent / "data" / "trace"
VALIDATION = Path(__file__).parent / "validation"
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


def test_pruned_basis_keeps_only_interacting_names_and_falls_back():
    """A basis pruned by the names' pairwise interactions keeps a product only when its names
    interact pairwise; a pruning that misses a term makes the exact fit fail (never a wrong fit)."""
    pairs = frozenset({frozenset(("a", "b")), frozenset(("b", "c"))})
    kept = fitting.monomials({"a": 1, "b": 2, "c": 1}, pairs)
    assert (("a", 1), ("b", 1)) in kept and (("b", 2), ("c", 1)) in kept
    assert not any({n for n, _ in m} >= {"a", "c"} for m in kept)
    assert len(kept) == 2 * 3 + 3 * 2 - 3 and len(fitting.monomials({"a": 1, "b": 2, "c": 1})) == 12
    rng = random.Random(2)
    points = [{"a": rng.randint(2, 40), "b": rng.randint(2, 40), "c": rng.randint(2, 40)} for _ in range(16)]
    a, b, c = (sp.Symbol(n, positive=True) for n in "abc")
    good = [p["a"] * p["b"] ** 2 + 5 * p["b"] * p["c"] for p in points]
    assert fitting.fit_all(points, {"q": (good, fitting.key({"a": 1, "b": 2, "c": 1}, pairs))})["q"] == a * b**2 + 5 * b * c
    with pytest.raises(fitting.NotPolynomial) as info:  # an a*c term the pairs say is absent
        fitting.fit_all(points, {"q": ([v + p["a"] * p["c"] for v, p in zip(good, points)],
                                       fitting.key({"a": 1, "b": 2, "c": 1}, pairs))})
    assert info.value.quantity == "q"


def test_autocast_emulation_saves_what_the_validation_measures_on_cpu():
    """The trace's CUDA-autocast emulation on the meta device against the validation's independent
    one (tests/validation/memory_probe.CudaSemantics: real CPU kernels, real weights), byte for byte:
    the reference Llama (GQA, flash and eager) and nanoGPT (eager, dropout 0.1: CUDA's 1-byte masks),
    fp32, amp-bf16 and bf16."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(VALIDATION))
    from memory_probe import CudaSemantics, saved_activation_bytes
    from ref_llama import LlamaConfig, RefLlama
    from ref_nanogpt import RefConfig, RefGPT

    from costmodel.tracing.measure import measure, saved_under

    builds = [lambda a=a: RefLlama(LlamaConfig(n_layer=2, d_model=48, n_head=4, n_kv_head=2, d_ff=80,
                                               vocab_size=64, seq_len=8, attention=a)) for a in ("flash", "eager")]
    builds.append(lambda: RefGPT(RefConfig(n_layer=2, n_head=2, n_embd=32, vocab_size=64, block_size=8, bias=True,
                                           attention="eager", dropout=0.1)))
    for build in builds:
        for precision in ("fp32", "amp-bf16", "bf16"):
            torch.manual_seed(0)
            model = build()
            if precision == "bf16":
                model.to(torch.bfloat16)
            idx, targets = torch.randint(64, (3, 8)), torch.randint(64, (3, 8))

            def forward(model=model, idx=idx, targets=targets, precision=precision):
                with CudaSemantics(torch.bfloat16 if precision == "amp-bf16" else None):
                    return model(idx, targets)

            on_cpu = saved_activation_bytes(model, forward)["total"]
            if precision == "fp32":
                m = measure(build, 8, 3)
                assert m.saved + m.saved_loss == on_cpu, (build(), precision)
            else:
                assert sum(saved_under(build, 8, 3, precision)) == on_cpu, (build(), precision)


def test_flop_count_is_flopcountermodes():
    """The trace's lean FLOP counter gives FlopCounterMode's total on a real step (eager attention:
    every matmul through the counter)."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, str(VALIDATION))
    from ref_nanogpt import RefConfig, RefGPT

    from costmodel.tracing.measure import measure

    def build():
        return RefGPT(RefConfig(n_layer=2, n_head=2, n_embd=32, vocab_size=64, block_size=8, attention="eager"))

    model = build()
    idx = torch.randint(64, (3, 8))
    with FlopCounterMode(display=False) as counter:
        model(idx, idx).backward()
    assert measure(build, 8, 3).flops == counter.get_total_flops() > 0


def _symbolic(expr: sp.Expr, rename: dict) -> sp.Expr:
    return sp.expand(expr.subs({sp.Symbol(k, positive=True): v for k, v in rename.items()}))


ALL_PRECISIONS = ("fp32", "amp-bf16", "bf16")


@pytest.fixture(scope="session")
def nanogpt():
    """The reference nanoGPT traced once for the whole session, in the default precisions (fp32 and
    amp-bf16)."""
    pytest.importorskip("torch")
    from costmodel.tracing import trace

    return trace(f"{DATA / 'nanogpt_factory.py'}:gpt", ["n_layer", "n_head", "n_embd", "vocab_size", "bias"],
                 {"attention": "flash"})


def _traced_source(family: str, target: str, values: dict, plugin: str) -> str:
    """The source of the formula a scenario selects for `target`."""
    from costmodel.api import scenario

    return scenario(family, values=values, plugins=[plugin]).formulas[target].formula.source


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


@pytest.mark.parametrize("precision", ["fp32", "amp-bf16", "amp-fp16"])
def test_nanogpt_activations_within_a_tenth_of_a_percent(nanogpt, tmp_path, precision):
    """Under every precision the traced family uses its measured bytes (the formula's source is the
    trace), and they agree with the nanoGPT family's (exact against PyTorch, tests/validation)."""
    from costmodel.api import estimate, registry
    from costmodel.tracing.family import to_toml

    path = tmp_path / "gpt.toml"
    path.write_text(to_toml(nanogpt, "tracedgpt", registry().quantities))
    for shape in ({"n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50304, "seq_len": 1024,
                   "micro_batch": 12, "bias": False},
                  {"n_layer": 4, "n_head": 4, "n_embd": 256, "vocab_size": 65, "seq_len": 256,
                   "micro_batch": 8, "bias": True}):
        values = {"precision": precision, "attention": "flash", "compile": False, **shape}
        built_in = estimate("nanogpt", values=values).results
        traced = estimate("tracedgpt", values=values, plugins=[str(path)]).results
        assert traced["n_params"].m == built_in["n_params"].m
        for name in ("mem_activations", "mem_logits_saved", "mem_weight_copies"):
            assert traced[name].m == pytest.approx(built_in[name].m, rel=1e-3), name
    for target in ("act_layer", "act_outside", "mem_logits_saved", *(("mem_weight_copies",) if "amp" in precision else ())):
        assert "traced by costmodel trace" in _traced_source("tracedgpt", target, values, str(path))
    # compiled, the generic formulas apply (inductor's partitioner saves other tensors); so they do
    # under bf16, which this trace did not measure (the llama trace below does)
    for other in ({"compile": True}, {"precision": "bf16"}):
        assert "traced by" not in _traced_source("tracedgpt", "act_layer", {**values, **other}, str(path))


@pytest.fixture(scope="session")
def llama():
    """The test suite's reference Llama (tests/validation/ref_llama.py), its config built by trace;
    traced once for the whole session, in every precision."""
    pytest.importorskip("torch")
    from costmodel.tracing import trace

    return trace(f"{VALIDATION / 'ref_llama.py'}:RefLlama",
                 ["n_layer", "d_model", "n_kv_head", "d_ff", "vocab_size", "seq_len"],
                 {"n_head": 4, "attention": "flash"}, precisions=ALL_PRECISIONS)


def _composed(family: str, target: str, values: dict, keep) -> sp.Expr:
    """A family's formula for `target` with every formula it reads substituted, down to the inputs;
    the inputs not in `keep` take the scenario's values (units dropped: canonical magnitudes)."""
    from costmodel.api import scenario

    s = scenario(family, values=values)
    numeric = {n: f.numeric for n, f in s.formulas.items()}
    expr = numeric[target]
    for _ in range(len(numeric) + 1):
        names = {x.name for x in expr.free_symbols} & set(numeric) - set(keep)
        if not names:
            break
        expr = expr.xreplace({sp.Symbol(n): numeric[n] for n in names})
    return _integers(expr.xreplace({x: sp.nsimplify(s.values[x.name]) for x in expr.free_symbols
                                    if x.name not in keep}))


def _integers(expr: sp.Expr, rename=None) -> sp.Expr:
    """Every name a positive integer (ceiling(vocab_size) is vocab_size), renamed as asked."""
    rename = rename or {}
    return sp.expand(expr.xreplace({x: sp.Symbol(rename.get(x.name, x.name), integer=True, positive=True)
                                    for x in expr.free_symbols}))


LLAMA_NAMES = ("n_layer", "d_model", "n_kv_head", "d_ff", "vocab_size", "seq_len")
LLAMA_RUN = {"n_head": 4, "precision": "fp32", "attention": "flash", "compile": False}


def test_reference_llama_parameters_and_flops_are_the_llama_familys(llama):
    """The llama family's n_params and flops_per_token_exact (core features + llama.toml), composed
    down to the shapes with n_head = 4, equal the traced polynomials symbolically."""
    rename = {"T__": "seq_len"}
    for target in ("n_params", "flops_per_token_exact"):
        assert _integers(llama.formulas[target], rename) == _composed("llama", target, LLAMA_RUN, LLAMA_NAMES)
    assert llama.choices == {"mlp": "swiglu", "norm": "rmsnorm", "attention": "flash", "positions": "rotary"}
    assert llama.formulas["n_kv_head"] == sp.Symbol("n_kv_head", positive=True)
    assert llama.formulas["tied_embeddings"] == 0 and llama.formulas["norm_weight"] == 1


@pytest.mark.parametrize("precision", ["fp32", "amp-bf16", "amp-fp16", "bf16"])
def test_reference_llama_activations_within_a_tenth_of_a_percent(llama, tmp_path, precision):
    """The llama family's memory formulas are exact against PyTorch running RefLlama
    (tests/validation/test_llama_memory.py); the traced bytes match them under every precision."""
    from costmodel.api import estimate, registry
    from costmodel.tracing.family import to_toml

    path = tmp_path / "llama.toml"
    path.write_text(to_toml(llama, "tracedllama", registry().quantities))
    for shape in ({"n_layer": 22, "d_model": 2048, "n_kv_head": 1, "d_ff": 5632, "vocab_size": 32000,
                   "seq_len": 2048, "micro_batch": 4},
                  {"n_layer": 4, "d_model": 256, "n_kv_head": 2, "d_ff": 688, "vocab_size": 1000,
                   "seq_len": 128, "micro_batch": 8}):
        values = {**LLAMA_RUN, **shape, "precision": precision}
        built_in = estimate("llama", values=values).results
        traced = estimate("tracedllama", values=values, plugins=[str(path)]).results
        assert traced["n_params"].m == built_in["n_params"].m
        for name in ("mem_activations", "mem_logits_saved", "mem_weight_copies"):
            assert traced[name].m == pytest.approx(built_in[name].m, rel=1e-3), name
    assert "traced by costmodel trace" in _traced_source("tracedllama", "act_layer", values, str(path))
    if "amp" in precision:  # the trace ran rms_norm in fp32 under autocast, as torch >= 2.12 does
        old = {**values, "autocast_rms_norm_fp32": False}
        assert "traced by" not in _traced_source("tracedllama", "act_layer", old, str(path))


def test_reference_llama_rules_keep_the_solver_on_valid_shapes(llama, tmp_path):
    """RefLlama rotates pairs of channels (head size even: d_model % 8 with 4 heads) and SDPA
    shares K/V heads only among whole groups (4 % n_kv_head): trace probes both, and solve then
    picks a d_model the model accepts."""
    from costmodel.api import estimate, registry, solve
    from costmodel.tracing.family import to_toml

    texts = {r.text: r.why for r in llama.rules}
    assert set(texts) == {"d_model % 8 == 0", "4 % n_kv_head == 0"}
    assert "d_model=" in texts["d_model % 8 == 0"] and "refuses" in texts["d_model % 8 == 0"]
    path = tmp_path / "llama.toml"
    path.write_text(to_toml(llama, "tracedllama", registry().quantities))
    values = {**LLAMA_RUN, "n_layer": 4, "n_kv_head": 2, "d_ff": 688, "vocab_size": 1000, "seq_len": 128}
    answer = solve("tracedllama", find="d_model", given={"n_params": "3e6"}, values=values,
                   plugins=[str(path)])
    d_model = int(answer["d_model"].m)

    def by_hand(d):  # Llama with 4 heads of d / 4: q, o d^2 each; k, v kv d / 4 each; SwiGLU; RMSNorms
        return 4 * (2 * d * d + 2 * d * 2 * d // 4 + 3 * d * 688 + 2 * d) + 2 * 1000 * d + d

    # the largest d_model the model accepts (a multiple of 8) within 3e6 parameters
    assert d_model % 8 == 0 and by_hand(d_model) <= 3e6 < by_hand(d_model + 8)
    from costmodel.errors import UserError

    with pytest.raises(UserError, match=r"needs 4 % n_kv_head == 0, tried at n_kv_head=\d+, the model refuses it: RuntimeError: .*; source: ref_llama.py:RefLlama sha256:"):
        estimate("tracedllama", values={**values, "d_model": 256, "n_kv_head": 3}, plugins=[str(path)])


def test_check_is_parsed_not_run_and_limits_the_traced_shapes():
    from costmodel.errors import UserError
    from costmodel.tracing.checks import given

    (rule,) = given(["d_model % n_head == 0 and d_model >= 2 * n_head"], ["d_model", "n_layer"], {"n_head": 4})
    assert rule.text == "d_model % 4 == 0 and d_model >= 2 * 4"
    assert rule.holds({"d_model": 96, "n_layer": 2}) and not rule.holds({"d_model": 98, "n_layer": 2})
    for bad, why in (("__import__('os').system('true')", "not allowed"), ("d_model + 1", "not a condition"),
                     ("d_model % n_heads == 0", "unknown name 'n_heads'")):
        with pytest.raises(UserError, match=why):
            given([bad], ["d_model"], {"n_head": 4})


def test_check_limits_the_traced_shapes_and_becomes_a_family_check(tmp_path, capsys, monkeypatch):
    """Rounded's width max(n_embd, 128) is n_embd itself where n_embd >= 144: with that --check the
    trace measures only there, fits, and the family refuses smaller widths."""
    pytest.importorskip("torch")
    from costmodel.api import estimate
    from costmodel.cli import main
    from costmodel.errors import UserError

    monkeypatch.chdir(tmp_path)
    target = f"{DATA / 'rounded.py'}:Rounded"
    assert main(["trace", target, "--vary", "n_embd", "--check", "n_embd >= 144", "-o", "r.toml"]) == 0
    assert "rules: n_embd >= 144 (" in capsys.readouterr().err
    n = 200  # by hand: embedding 50 n, up n^2 + n, down n^2 + n, head 50 n + 50
    assert estimate("rounded", values={"n_embd": n}, plugins=["r.toml"]).results["n_params"].m == 2 * n * n + 102 * n + 50
    with pytest.raises(UserError, match=r"the traced model needs n_embd >= 144, given with --check"):
        estimate("rounded", values={"n_embd": 96}, plugins=["r.toml"])
    code = main(["trace", target, "--vary", "n_embd", "--check", "__import__('os').system('x')", "-o", "x.toml"])
    assert code == 1 and capsys.readouterr().err.splitlines()[-1].startswith("error: --check \"__import__")


@pytest.mark.parametrize("factory, names", [("Rounded", "n_embd=48: .*n_embd=144"),  # max(n_embd, 128)
                                            ("Floored", "n_embd=48: .*n_embd=96: .*n_embd=144")])  # // 256
def test_rounded_width_is_refused_with_the_quantity_and_shapes(factory, names, capsys, tmp_path, monkeypatch):
    """One line (CLI, exit 1) naming the quantity, the name along which the fit broke and the
    measured shapes, and what to do."""
    pytest.importorskip("torch")
    from costmodel.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["trace", f"{DATA / 'rounded.py'}:{factory}", "--vary", "n_embd", "-o", "never.toml"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1 and not Path("never.toml").exists()
    assert re.fullmatch(rf"error: n_params_matrices is not a polynomial of degree <= 3 in n_embd \(measured "
                        rf"{names}.*\); a shape rounded with // or max\? fix n_embd with --fixed, or raise "
                        r"--degree n_embd=K", err[-1])


def test_without_torch_one_line_and_exit_1(monkeypatch, capsys):
    from costmodel.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)
    code = main(["trace", f"{DATA / 'rounded.py'}:Rounded", "--vary", "n_embd", "-o", "x.toml"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == "error: costmodel trace needs PyTorch: pip install 'costmodel[trace]'\n"


def test_precision_list_is_checked_before_any_user_code_runs(capsys):
    from costmodel.cli import main

    for bad, why in (("amp-bf16", "give fp32 and any of amp-bf16, bf16"), ("fp32,fp8", "unknown: fp8")):
        code = main(["trace", f"{DATA / 'rounded.py'}:Rounded", "--vary", "n_embd", "--precision", bad, "-o", "x.toml"])
        err = capsys.readouterr().err.splitlines()
        assert code == 1 and len(err) == 1 and err[0].startswith("error: --precision ") and why in err[0]


def test_help_says_it_runs_user_code_and_no_other_command_imports_tracing():
    from typer.testing import CliRunner

    from costmodel.cli import app

    out = CliRunner().invoke(app, ["trace", "--help"]).output
    assert "RUNS YOUR CODE" in out
    code = ("import sys; from costmodel import api; api.estimate('nanogpt'); "
            "print(sorted(m for m in sys.modules if m.startswith('costmodel.tracing') or m == 'torch'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_docs_walk_through_runs_verbatim(tmp_path, monkeypatch, capsys):
    """Every command of docs/trace.md's walk-through, run as written; every output line the page
    shows is in what it prints (`...` stands for what varies); n_params checked by hand."""
    pytest.importorskip("torch")
    import json
    import shlex

    from costmodel.cli import main

    text = (Path(__file__).parents[1] / "docs" / "trace.md").read_text()
    code = re.search(r"<!-- trace: parallel.py -->\n```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "parallel.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    walk = text[text.index("## Walk-through"):text.index("## Options")]
    commands: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", walk, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            else:
                commands[-1][1].append(line.strip())
    assert [c.split()[1] for c, _ in commands] == ["trace", "estimate", "estimate", "explain", "solve", "solve",
                                                   "explain", "plan"]
    for command, shown in commands:
        capsys.readouterr()
        assert main(shlex.split(command)[1:]) == 0, command
        out = capsys.readouterr()
        printed = [line.strip() for line in (out.err + out.out).splitlines()]
        for line in shown:
            pattern = re.escape(line).replace(re.escape("..."), ".*")
            assert any(re.fullmatch(pattern, p) for p in printed), (command, line, printed)
    toml = (tmp_path / "parallel.toml").read_text()
    assert 'mlp = "swiglu"' in toml and "tied_embeddings = false" in toml and 'expr = "d_model % n_head == 0"' in toml
    assert main(["estimate", "parallellm", "--plugin", "parallel.toml", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    # by hand from the code, d=256, d_ff=512, L=4, V=1000, T=128: per block 4 d^2 + 3 d d_ff + 2 d,
    # embedding and head 2 V d, positions T d, final norm 2 d
    d, ff, layers, vocab, seq = 256, 512, 4, 1000, 128
    assert results["n_params"]["value"] == layers * (4 * d * d + 3 * d * ff + 2 * d) + 2 * vocab * d + seq * d + 2 * d
    # under amp-bf16 (the default) one block saves per token, by hand from the code: the LayerNorm's
    # fp32 input 4 d and stats 8, two bf16 casts of its output 2 x 2 d, q k v 6 d, SDPA's output 2 d
    # and logsumexp 4 H, the MLP's gate-up output 4 d_ff, SiLU's output 2 d_ff and the product 2 d_ff
    assert results["act_layer"]["value"] == 4 * d + 8 + 4 * d + 6 * d + 2 * d + 4 * 4 + 8 * ff
