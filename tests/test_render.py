"""Derivations as Markdown (LaTeX) and HTML (MathML): structure, numbers, and a headless browser.

The family below is written for this test; every expected number is worked out here by hand:
    n_params        = 12 x 12 layers x 768^2          =    84,934,656 param
    mem_weights     = 4 byte/param x 84,934,656 param  =   339,738,624 byte
    mem_activations = 34 byte/token x 768 x 12 x 8 x 1,024 = 2,566,914,048 byte  (checkpointing none)
                    =  2 byte/token x 768 x 12 x 8 x 1,024 =   150,994,944 byte  (checkpointing full)
    mem_overhead    = 0.5 GiB (12 layers is not above 24)   =   536,870,912 byte
    mem_peak        = 339,738,624 + 2,566,914,048 + 536,870,912 = 3,443,523,584 byte = 3.207 GiB
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import struct
import subprocess
import zlib
from xml.dom import minidom

import pytest

from costmodel import api

FAMILY = """
[family]
name = "rtoy"
doc = "A toy model for derivation tests"
source = "tests/test_render.py"

[quantities.n_layer]
doc = "layers"
kind = "integer"
positive = true

[quantities.width]
doc = "model width"
kind = "integer"
positive = true

[defaults]
n_layer = 12
width = 768
micro_batch = 8
seq_len = "1024 token/sequence"

[[formulas]]
target = "n_params"
expr = "12 * n_layer * width**2 * param"
doc = "weights of the blocks"
source = "Kaplan et al. 2020, arXiv:2001.08361 Table 1; https://example.org/scaling"
assumptions = ["no embeddings"]

[[formulas]]
target = "mem_weights"
expr = "4 * byte/param * n_params"
doc = "fp32 weights"
source = "4 bytes per fp32 number"

[[formulas]]
target = "mem_activations"
expr = "34 * byte/token * width * n_layer * micro_batch * seq_len"
doc = "every activation kept"
source = "Korthikanti et al. 2022, arXiv:2205.05198 section 4"
condition = 'checkpointing == "none"'

[[formulas]]
target = "mem_activations"
expr = "2 * byte/token * width * n_layer * micro_batch * seq_len"
doc = "layer inputs kept"
source = "Chen et al. 2016, arXiv:1604.06174"
condition = 'checkpointing == "full"'

[[formulas]]
target = "mem_overhead"
expr = "1 * GiB if n_layer > 24 else 0.5 * GiB"
doc = "runtime overhead"
source = "a guess"

[[formulas]]
target = "mem_peak"
expr = "mem_weights + mem_activations + mem_overhead"
doc = "the parts together"
source = "definition"
"""

N_PARAMS = 12 * 12 * 768**2
MEM_WEIGHTS = 4 * N_PARAMS
MEM_ACTIVATIONS = 34 * 768 * 12 * 8 * 1024
MEM_OVERHEAD = 2**30 // 2
MEM_PEAK = MEM_WEIGHTS + MEM_ACTIVATIONS + MEM_OVERHEAD
STEPS = ["n_params", "mem_activations", "mem_overhead", "mem_weights", "mem_peak"]


def test_hand_arithmetic():
    assert N_PARAMS == 84_934_656
    assert MEM_WEIGHTS == 339_738_624
    assert MEM_ACTIVATIONS == 2_566_914_048
    assert MEM_PEAK == 3_443_523_584
    assert f"{MEM_PEAK / 2**30:.3f}" == "3.207"


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    path = tmp_path_factory.mktemp("render") / "rtoy.toml"
    path.write_text(FAMILY)
    return str(path)


@pytest.fixture(scope="module")
def result(family):
    return api.estimate("rtoy", plugins=[family], targets=["mem_peak"])


@pytest.fixture(scope="module")
def md(result):
    return result.explain("mem_peak", "md")


@pytest.fixture(scope="module")
def page(result):
    return result.explain("mem_peak", "html")


def tex(n: int) -> str:
    """A whole number as the LaTeX derivation writes it: 3{,}443{,}523{,}584."""
    return f"{n:,}".replace(",", "{,}")


# --- Markdown ----------------------------------------------------------------------------------


def math_blocks(md: str) -> list[list[str]]:
    blocks = re.findall(r"^\$\$\n\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}\n\$\$$", md, re.S | re.M)
    out = []
    for block in blocks:
        forms: list[str] = []
        for line in block.split(" \\\\\n"):  # a wrapped form continues on lines that start with &\quad
            if line.startswith("&\\quad") and forms:
                forms[-1] += line.removeprefix("&\\quad")
            else:
                forms.append(line)
        out.append(forms)
    return out


def test_markdown_every_step_has_three_forms(md):
    headings = re.findall(r"^### (\d+)\. `(\w+)`", md, re.M)
    assert [name for _, name in headings] == STEPS
    blocks = math_blocks(md)
    assert len(blocks) == len(STEPS)
    for name, lines in zip(STEPS, blocks):
        assert len(lines) == 3, lines
        symbolic, numbers, result = lines
        assert symbolic.startswith(r"\mathit{" + name.replace("_", r"\_") + "} &= ")
        assert numbers.startswith("&= ") and result.startswith("&= ")
        assert r"\mathit{" in symbolic  # quantities by name ...
        assert r"\mathit{" not in numbers  # ... every one of them replaced by its value


def test_markdown_numbers_with_units(md):
    blocks = dict(zip(STEPS, math_blocks(md)))
    # substituted values are in the canonical unit, with the unit
    assert rf"\left({tex(N_PARAMS)}\,\mathrm{{param}}\right)" in blocks["mem_weights"][1]
    assert r"\left(1{,}024\,\mathrm{token/sequence}\right)" in blocks["mem_activations"][1]
    assert r"\left(8\,\mathrm{sequence}\right)" in blocks["mem_activations"][1]
    for part in (MEM_ACTIVATIONS, MEM_OVERHEAD, MEM_WEIGHTS):
        assert rf"\left({tex(part)}\,\mathrm{{byte}}\right)" in blocks["mem_peak"][1]
    # results: the canonical number, then the readable one
    assert blocks["mem_peak"][2] == rf"&= {tex(MEM_PEAK)}\,\mathrm{{byte}} \approx 3.207\,\mathrm{{GiB}}"
    assert blocks["n_params"][2] == rf"&= {tex(N_PARAMS)}\,\mathrm{{param}} \approx 84.93\,\mathrm{{M\ param}}"
    assert blocks["mem_overhead"][2].startswith(rf"&= {tex(MEM_OVERHEAD)}\,\mathrm{{byte}}")
    assert r"\begin{cases}" in blocks["mem_overhead"][0] and "12 > 24" in blocks["mem_overhead"][1]


def test_markdown_wraps_a_long_sum_term_by_term():
    """A formula too wide for a page breaks before a top-level + into aligned lines; joined back
    together (without the line breaks and indents) the lines are the unbroken formula."""
    import sympy as sp

    from costmodel import render_md

    xs = sp.symbols("alpha_long_name_0:12", positive=True)
    expr = sp.Add(*(i * x for i, x in enumerate(xs, start=1)))
    lines = render_md._wrapped(expr, {})
    assert len(lines) > 1
    assert all(len(line) <= render_md.WIDTH + 40 for line in lines)
    assert all(line.startswith(r"\quad + ") for line in lines[1:])
    joined = "".join(line.removeprefix(r"\quad") for line in lines)
    assert joined == sp.latex(expr, mul_symbol="dot")
    # a product with a long sum: the factor, then the terms in one pair of big parentheses
    lines = render_md._wrapped(sp.Symbol("k") * expr, {})
    assert lines[0].startswith(r"k \cdot \bigl(") and lines[-1].endswith(r"\bigr)")
    short = sp.Symbol("a") + sp.Symbol("b")
    assert render_md._wrapped(short, {}) == ["a + b"]


def test_markdown_summary_and_citations(md):
    assert md.startswith("# Derivation of mem_peak for rtoy\n")
    assert "| value | **3.207 GiB** (3,443,523,584 byte) |" in md
    assert "| `n_layer` | 12 | rtoy default |" in md
    # options a step's condition reads, with those steps; the others in one line
    assert re.search(r"^\| `checkpointing` \| `none` \| recipe default \| .* \| 2 \|$", md, re.M)
    others = next(line for line in md.splitlines() if line.startswith("Other options"))
    assert "`precision = amp-bf16`" in others and "checkpointing" not in others
    assert "- assumes: no embeddings" in md
    assert '- applies when: `checkpointing == "none"` (in force: `checkpointing = none`)' in md
    assert "[arXiv:2001.08361](https://arxiv.org/abs/2001.08361)" in md


def test_recipe_option_changes_the_derivation(family):
    md = api.explain("rtoy", plugins=[family], target="mem_peak", format="md",
                     values={"checkpointing": "full"})
    full = 2 * 768 * 12 * 8 * 1024  # 150,994,944 byte
    assert full == 150_994_944
    assert tex(MEM_WEIGHTS + full + MEM_OVERHEAD) in md
    assert "layer inputs kept" in md and "every activation kept" not in md
    assert "(in force: `checkpointing = full`)" in md


def test_unknown_format_names_the_valid_ones(result):
    from costmodel.errors import UserError

    with pytest.raises(UserError, match="unknown format 'pdf'.*html"):
        result.explain("mem_peak", "pdf")


def test_text_format_is_unchanged(result):
    text = result.explain("mem_peak", "text")
    assert text.startswith("Derivation of mem_peak for rtoy") and "$$" not in text and "<math" not in text


# --- HTML ---------------------------------------------------------------------------------------


class Outline(html.parser.HTMLParser):
    """Tags in document order, checking that every non-void element is closed."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "mspace"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_html_is_well_formed_and_self_contained(page):
    outline = Outline()
    outline.feed(page)
    outline.close()
    assert outline.stack == []
    lowered = page.lower()
    for forbidden in ("<script", "<link", "<iframe", "<img", "src=", "url(", "@import", "<object"):
        assert forbidden not in lowered, forbidden
    # the only addresses are the citations' links
    without_links = re.sub(r'<a href="[^"]*">[^<]*</a>', "", page)
    assert "http" not in without_links
    links = re.findall(r'<a href="([^"]*)">', page)
    assert "https://arxiv.org/abs/2001.08361" in links and "https://example.org/scaling" in links


def test_html_every_step_has_three_forms_in_mathml(page):
    steps = re.findall(r'<section class="step" id="step-(\d+)">(.*?)</section>', page, re.S)
    assert [int(n) for n, _ in steps] == list(range(1, len(STEPS) + 1))
    for name, (_, body) in zip(STEPS, steps):
        assert f"<code>{name}</code>" in body
        forms = re.findall(r'<div class="form (symbolic|substituted|result)">(<math>.*?</math>)', body, re.S)
        assert [kind for kind, _ in forms] == ["symbolic", "substituted", "result"]
        for _, math in forms:
            minidom.parseString(math)  # each math element is well-formed XML
        symbolic, numbers, result = (m for _, m in forms)
        assert 'class="q"' in symbolic and 'class="q"' not in numbers
        assert "<mn>" in numbers and "<mn>" in result
    assert page.count("<math") >= 4 * len(STEPS)  # the name, and the three forms


def test_html_numbers_and_summary(page):
    assert f"<mn>{MEM_PEAK:,}</mn>" in page and "<mn>3.207</mn>" in page
    assert f"<mn>{N_PARAMS:,}</mn>" in page
    assert '<table class="summary">' in page
    assert '<span class="value">3.207 GiB</span>' in page
    inputs = page[page.index('<table class="inputs">'):]
    inputs = inputs[: inputs.index("</table>")]
    for name in ("micro_batch", "n_layer", "seq_len", "width"):
        assert f"<code>{name}</code>" in inputs
    assert "rtoy default" in inputs
    options = page[page.index('<table class="options">'):]
    assert "<code>checkpointing</code></td><td><code>none</code>" in options
    assert '<p class="other-options">' in page and "<code>precision = amp-bf16</code>" in page
    assert "<dt>applies when</dt>" in page and "<dt>assumes</dt><dd>no embeddings</dd>" in page


def test_explain_cli_writes_html(family, tmp_path, cli):
    out = tmp_path / "d.html"
    code, stdout, err = cli("explain", "rtoy", "--plugin", family, "--target", "mem_weights",
                            "--format", "html", "--output", str(out))
    assert code == 0, err
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and f"<mn>{MEM_WEIGHTS:,}</mn>" in text


# --- a real browser ----------------------------------------------------------------------------

CHECK_SCRIPT = """
<script>
(function () {
  var fracs = document.querySelectorAll("mfrac"), stacked = 0;
  fracs.forEach(function (f) {
    var top = f.children[0].getBoundingClientRect(), bottom = f.children[1].getBoundingClientRect();
    if (top.height > 0 && bottom.top >= top.bottom - 1) stacked += 1;
  });
  var sups = document.querySelectorAll("msup"), raised = 0;
  sups.forEach(function (s) {
    var base = s.children[0].getBoundingClientRect(), up = s.children[1].getBoundingClientRect();
    if (up.bottom < base.bottom - 1) raised += 1;
  });
  var maths = document.querySelectorAll("math"), sized = 0;
  maths.forEach(function (m) { if (m.getBoundingClientRect().width > 0) sized += 1; });
  document.body.setAttribute("data-layout",
    "math=" + maths.length + ":" + sized + " mfrac=" + fracs.length + ":" + stacked +
    " msup=" + sups.length + ":" + raised);
})();
</script>
"""


def chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def run_browser(binary: str, profile, *args: str) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def png_colours(path, rows: int = 320) -> set[tuple[int, ...]]:
    """The distinct colours in the first `rows` rows of an 8-bit RGB/RGBA PNG (decoded here)."""
    import numpy as np

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat = 8, b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = np.zeros(stride, dtype=np.int64)
    colours: set[tuple[int, ...]] = set()
    for row in range(min(rows, height)):
        start = row * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int64)
        if kind == 1:  # Sub: a running sum along the row, per channel
            line = np.cumsum(line.reshape(width, channels), axis=0).reshape(-1) % 256
        elif kind == 2:  # Up
            line = (line + previous) % 256
        elif kind in (3, 4):  # Average, Paeth: byte by byte
            out = [0] * stride
            up = previous.tolist()
            filtered = line.tolist()
            for i in range(stride):
                left = out[i - channels] if i >= channels else 0
                if kind == 3:
                    out[i] = (filtered[i] + (left + up[i]) // 2) & 0xFF
                else:
                    corner = up[i - channels] if i >= channels else 0
                    p = left + up[i] - corner
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
                    best = left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner
                    out[i] = (filtered[i] + best) & 0xFF
            line = np.array(out, dtype=np.int64)
        pixels = line.reshape(width, channels)[:, :3]
        colours.update(map(tuple, np.unique(pixels, axis=0).tolist()))
        previous = line
    return colours


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (scripts/ci-browser.sh installs it)")
def test_html_renders_math_in_headless_chromium(page, tmp_path):
    binary = chromium()
    doc = tmp_path / "derivation.html"
    doc.write_text(page, encoding="utf-8")
    # 1. layout: a copy with a measuring script (the page itself has none) reports where things are
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    done = run_browser(binary, tmp_path / "profile-dom", "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<math" in dom and "<mfrac>" in dom and "<mn>" in dom
    layout = re.search(r'data-layout="math=(\d+):(\d+) mfrac=(\d+):(\d+) msup=(\d+):(\d+)"', dom)
    assert layout, dom[-3000:]
    maths, sized, fracs, stacked, sups, raised = map(int, layout.groups())
    assert maths >= 4 * len(STEPS) and sized == maths  # every math element has a box
    assert fracs > 0 and stacked == fracs  # numerators sit above their denominators: MathML laid out
    assert sups > 0 and raised == sups  # exponents are raised
    # 2. pixels: a screenshot of the page itself is not blank
    shot = tmp_path / "shot.png"
    done = run_browser(binary, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,2000",
                       doc.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    colours = png_colours(shot)
    assert len(colours) > 20  # text, table rules, link and unit colours on white
    assert (255, 255, 255) in colours
