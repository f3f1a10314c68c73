"""Documents fit to send: no path of the authors' machine and no reference to a file the project
does not ship, in the README, the docs (generated ones included) and the hardware sources; no float
noise in derivations; relative links in Markdown point at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "docs").rglob("*.html")),
           *sorted((ROOT / "hardware").glob("*.toml"))]
MACHINE = re.compile(r"(?<![\w.])(/work/|/tmp/|/home/|/root/|/Users/|[A-Z]:\\\\|\.\./shared/|\.mirror/)")
FLOAT_NOISE = re.compile(r"\d\.\d*?0{6,}\d*")  # 0.830000000000000
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", SHIPPED, ids=_rel)
def test_no_machine_paths(path):
    text = path.read_text(encoding="utf-8")
    hits = [(n, line.strip()[:120]) for n, line in enumerate(text.splitlines(), 1) if MACHINE.search(line)]
    assert not hits, f"{_rel(path)} names a path of the authors' machine or an unshipped file: {hits[:3]}"


def test_no_float_noise_in_derivations():
    for path in sorted((ROOT / "docs" / "derivations").glob("*")):
        noisy = FLOAT_NOISE.findall(path.read_text(encoding="utf-8"))
        assert not noisy, f"{_rel(path)}: float noise {noisy[:3]}"


def test_relative_links_point_at_shipped_files():
    for path in [p for p in SHIPPED if p.suffix == ".md"]:
        for target in LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            assert (path.parent / target).exists(), f"{_rel(path)} links to {target}, which is not shipped"


def test_the_pattern_catches_what_it_should():
    for bad in ("see /work/shared/seeds", "(../shared/DESIGN.md)", "C:\\\\Users\\\\me", "`/tmp/x`"):
        assert MACHINE.search(bad), bad
    for fine in ("https://github.com/karpathy/nanoGPT/blob/x/train.py", "docs/usage.md", "s/iteration"):
        assert not MACHINE.search(fine), fine
    assert FLOAT_NOISE.search("0.830000000000000") and not FLOAT_NOISE.search("0.83 and 1,000,000")
