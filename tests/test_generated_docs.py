"""The documents scripts/generate_docs.py writes are up to date, and say the right things.

docs/derivations/ (derivations of the users' scenarios), docs/claims.md (the seeds' claims, checked)
and the examples block of docs/check.md are generated from costmodel's own numbers; a change to the
engine, a plugin or the catalogue that moves a number makes them stale: rerun
`python scripts/generate_docs.py` and commit what it writes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "generate_docs.py"
CLAIMS = ROOT / "docs" / "claims.md"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_docs"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(generator):
    files, judged = generator.build()
    return files, {j.claim.id: j for j in judged}


def test_the_check_command_finds_nothing_stale():
    """The one command of the contract: `--check` exits 0 when every generated file is current."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"generated docs are stale; run python scripts/generate_docs.py\n{done.stderr}"


def test_generated_files_equal_the_files_on_disk(generator, built):
    files, _ = built
    assert generator.stale(files) == [], "run python scripts/generate_docs.py"


def test_check_mode_names_stale_files_and_writes_nothing(generator, built, monkeypatch, capsys):
    files, judged = built
    changed = dict(files)
    changed["docs/claims.md"] += "a change\n"
    changed["docs/derivations/extra.md"] = "new\n"
    monkeypatch.setattr(generator, "build", lambda: (changed, list(judged.values())))
    before = CLAIMS.read_text(encoding="utf-8")
    assert generator.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "docs/claims.md" in err and "docs/derivations/extra.md" in err
    assert CLAIMS.read_text(encoding="utf-8") == before
    assert not (ROOT / "docs" / "derivations" / "extra.md").exists()


def test_generation_is_deterministic(generator, built):
    files, _ = built
    again, _ = generator.build()
    assert again == files


# --- what the claims document says ---------------------------------------------------------------


def summary_row(claim_id: str) -> list[str]:
    """The cells of a claim's row in the summary table of docs/claims.md."""
    for line in CLAIMS.read_text(encoding="utf-8").splitlines():
        if f"](#{claim_id})" in line and line.startswith("|"):
            return [cell.strip() for cell in line.strip("|").split(" | ")]
    raise AssertionError(f"no summary row for {claim_id}")


def test_total_flops_of_2_55e15_is_impossible_off_by_about_1000(built):
    _, judged = built
    j = judged["ng-flops-e15"]
    assert j.verdict == "impossible"
    assert 500 < 1 / j.result.ratio < 2000
    assert "off by a factor of 1,2" in j.reason
    assert summary_row("ng-flops-e15")[-1] == "**impossible**"


def test_80_to_120_ms_per_iteration_implies_mfu_above_100_percent(built):
    _, judged = built
    j = judged["s1-iter-time"]
    assert j.verdict == "impossible"
    assert j.result.implied["mfu"] > 1  # even the slow end, 120.5 ms, needs 22x the card's peak
    assert summary_row("s1-iter-time")[-1] == "**impossible**"


def test_tokens_per_iteration_524288_is_consistent(built):
    _, judged = built
    for key in ("ng-tokens-per-iter", "s1-tokens-per-iter"):
        j = judged[key]
        assert j.verdict == "consistent" and j.result.ratio == pytest.approx(1)
        assert summary_row(key)[-1] == "**consistent**"


def test_the_gpu_ratio_and_the_printed_mfu_are_impossible_on_an_rtx_4070(built):
    _, judged = built
    assert judged["nc-h100-vs-4070"].verdict == "impossible"  # 8-9x; the dense BF16 peaks differ 17x
    assert "times costmodel's iter_time" in judged["nc-h100-vs-4070"].how
    assert judged["ng-mfu-printed"].verdict == "impossible"  # 20 % of 312 TFLOP/s > the card's 58.3


def test_every_claim_has_a_verdict_and_the_unjudged_say_why(built):
    _, judged = built
    verdicts = {"impossible", "implausible", "consistent", "not judged"}
    for j in judged.values():
        assert j.verdict in verdicts, j.claim.id
        assert j.reason, j.claim.id
        if j.verdict != "not judged":
            assert j.result is not None and j.command.startswith("costmodel check "), j.claim.id
    text = CLAIMS.read_text(encoding="utf-8")
    assert len(re.findall(r"^\| (?:000, 004|001|002|003|002, 003) \| \[", text, re.M)) == len(judged)


def test_a_check_command_in_the_doc_prints_the_doc_s_verdicts(built, cli):
    _, judged = built
    j = judged["ng-iter-time"]
    args = shlex.split(j.command)[1:] + ["--json"]
    code, out, err = cli(*args)
    assert code == 0, err
    assert [v["verdict"] for v in json.loads(out)] == [j.verdict]


def test_the_derivation_index_links_every_derivation(built):
    files, _ = built
    index = files["docs/derivations/README.md"]
    pages = [p for p in files if p.startswith("docs/derivations/") and not p.endswith("README.md")]
    assert len(pages) >= 2 * 14
    for path in pages:
        assert f"]({Path(path).name})" in index, path
        if path.endswith(".html"):
            assert "<script" not in files[path]


def test_the_claims_are_data_and_every_verdict_is_checks(generator, built):
    """docs/claims.toml holds the quotes, scenarios and claims; the script judges nothing itself: each
    verdict is costmodel.check's for the claim as `--claim` takes it (the relative ones multiplied out)."""
    _, judged = built
    data = generator._data()
    assert len(data["claims"]) == len(judged) and set(data["scenarios"]) == set(generator.SCENARIOS)
    from costmodel import api
    from costmodel.check import check

    reg = api.registry()
    for c in data["claims"]:
        assert c["scenario"] in data["scenarios"] and c.get("relative_to", c["scenario"]) in data["scenarios"]
        if "claim" in c:
            reg.quantity(c["claim"].partition("=")[0])
        else:
            assert c.get("reading"), c["id"]  # an unjudged claim says why
    for key in ("ng-table-2.5", "ng-power", "ng-fits", "nc-params"):
        j = judged[key]
        (v,) = check(j.scenario.family, [(j.claim.name, j.text)], **j.scenario.kwargs())
        assert (v.verdict, v.reason) == (j.verdict, j.reason)
    text = (ROOT / "scripts" / "generate_docs.py").read_text(encoding="utf-8")
    for word in ("TOLERANCE", "def _judge_", "COMPILE_DOCUMENTED", "PUBLISHED_D32_MFU", 'verdict = "'):
        assert word not in text, f"the script decides verdicts itself ({word})"
