"""`costmodel trace`: a model family from the user's own PyTorch model, exact by construction.

This is the one part of costmodel that runs code it did not write: the file named on the command
line (usercode). Nothing here runs as a side effect of another command; torch is imported only
when a trace runs (the optional extra `costmodel[trace]`).

Steps, top to bottom:
1. shapes: every varied name gets a pool of values (`pool`); the sequence length T is tied to
   the model's context name (block_size, ...), or varied alone; the micro-batch B is varied too.
2. scans: about a base shape each name alone runs through its pool; the lowest exact degree of
   every measured quantity along it is that name's degree bound (fit.degree_along).
3. interactions: one shape per pair of names, both moved to their cheapest scanned values; a
   zero mixed difference drops the products of the two from a quantity's basis (fit.monomials).
4. fit: random shapes (more than the largest basis has unknowns) and the shapes so far; each
   quantity is fitted exactly on its basis (fit.fit_all), then checked at held-out shapes; one the
   pruned basis misses is fitted again on the whole basis. The random shapes take each count
   (layers, heads) from its few smallest values the model accepted in its scan, as many as its
   degree needs and one more: a block is what costs time on the meta device; the held-out shapes
   draw from the whole pools.
5. rules: the divisibility rules the model holds to, probed at shapes that break one alone, and
   the user's --check rules (tracing.checks), become the family's [[checks]].
6. the fitted polynomials, the rules and the features become a TOML family (tracing.family).

Every shape is measured in fp32 (parameters, FLOPs, saved bytes: measure.measure) and, for each
further precision asked for (amp-bf16 by default; bf16), by one more forward pass that counts
what it saves (measure.saved_under; CUDA autocast emulated by tracing.autocast).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Mapping, Sequence
from fractions import Fraction

import attrs

from costmodel.errors import UserError

INSTALL = "costmodel trace needs PyTorch: pip install 'costmodel[trace]'"
SEQ_NAMES = ("block_size", "seq_len", "max_seq_len", "sequence_len", "context_length", "n_ctx",
             "n_positions", "max_position_embeddings")
T, B = "T__", "B__"  # the sequence length and micro-batch, as fit variables
SMALL = (2, 3, 4, 6, 8, 12, 1)  # counts (layers, heads): small, dividing the widths; 1 (views collapse) last
WIDE = (48, 96, 144, 192, 240, 288)  # widths and table sizes: multiples of every count above
SEQS = (8, 16, 24, 32, 40)
FREE_SEQS = (3, 4, 5, 6, 7)  # T when the model's context is fixed: short enough for any model
BATCHES = (2, 3, 4)
SCAN = 5  # points of a scan: degree <= 3 with one to spare
SPARE = 4  # shapes measured beyond those that determine every coefficient
PRECISIONS = ("fp32", "amp-bf16", "bf16")  # whose activation bytes a trace can measure
DEFAULT_PRECISIONS = ("fp32", "amp-bf16")


def need_torch():
    try:
        import torch
    except ImportError:
        raise UserError(INSTALL) from None
    return torch


@attrs.frozen(kw_only=True)
class Traced:
    """The result: fitted polynomials (sympy, in the varied names, T__ and B__) and the rest."""

    file: str
    factory: str
    sha256: str
    torch_version: str
    vary: tuple[str, ...]
    kinds: dict[str, str]  # varied name -> "integer" | "bool"
    seq_name: str | None
    seq_default: object
    fixed: dict[str, object]
    defaults: dict[str, object]
    degrees: dict[str, dict[str, int]]
    formulas: dict[str, object]  # quantity -> sympy polynomial
    choices: dict[str, str]  # activation, norm, attention, positions (constant over shapes)
    params_by_dtype: dict[str, int]  # at the base shape
    base: dict[str, object]  # the base shape: the varied names, seq_len, micro_batch
    peak: dict[str, int]  # MemTracker's step peak at the base shape, bytes by kind
    rules: tuple = ()  # tracing.checks.Rule: the shapes the formulas hold for
    n_fit: int
    n_held_out: int
    n_probed: int = 0
    precisions: tuple[str, ...] = ("fp32",)  # whose activations were traced (saved/P, saved_loss/P, copies/P)
    seconds: float


def check_precisions(names: Sequence[str]) -> tuple[str, ...]:
    """fp32 first (its step gives the FLOPs and parameters), then the others asked for."""
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in names if n not in PRECISIONS]
    if unknown or "fp32" not in names:
        raise UserError(f"--precision {','.join(names)}: give fp32 and any of {', '.join(PRECISIONS[1:])} "
                        "(fp32 is always traced: the FLOPs and parameters come from its step)"
                        + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return ("fp32", *(n for n in PRECISIONS[1:] if n in names))


def pool(name: str, default: object) -> tuple:
    """Values a varied name takes: bools both ways, counts small, widths as multiples of 48."""
    if isinstance(default, bool):
        return (False, True)
    if isinstance(default, int) and default <= 16:
        return SMALL
    if default is None and any(w in name for w in ("layer", "head", "depth", "group")):
        return SMALL
    return WIDE


def trace(target: str, vary: Sequence[str], fixed: Mapping[str, object] = (), seq_name: str | None = None,
          degrees: Mapping[str, int] = (), seed: int = 0, held_out: int = 3, checks: Sequence[str] = (),
          precisions: Sequence[str] = DEFAULT_PRECISIONS, log=None) -> Traced:
    """Measure the model at many shapes and fit every quantity exactly (module doc)."""
    precisions = check_precisions(precisions)
    extra = precisions[1:]
    torch = need_torch()
    from costmodel.tracing import checks as rules
    from costmodel.tracing import fit as fitting
    from costmodel.tracing import usercode
    from costmodel.tracing.measure import measure, saved_under

    started = time.perf_counter()
    log = log or (lambda text: None)
    file, name = usercode.split_target(target)
    factory = usercode.load_factory(file, name)
    defs = usercode.defaults(factory)
    fixed = dict(fixed)
    degrees = dict(degrees)
    vary = tuple(dict.fromkeys(vary))
    if not vary:
        raise UserError("--vary names at least one argument of the factory")
    known = usercode.arguments(factory)
    for n in (*vary, *fixed):
        if known is not None and n not in known:
            raise UserError(f"{target}: the factory has no argument {n!r} (it has: {', '.join(sorted(known))})")
    if set(vary) & set(fixed):
        raise UserError(f"{', '.join(sorted(set(vary) & set(fixed)))}: both varied and fixed")
    if seq_name is None:
        seq_name = next((n for n in SEQ_NAMES if n in vary or (n in (known or defs) and n not in fixed)), None)
    pools = {n: pool(n, defs.get(n)) for n in vary if n != seq_name}
    pools[T] = SEQS if seq_name else FREE_SEQS
    pools[B] = BATCHES
    kinds = {n: "bool" if pools.get(n) == (False, True) else "integer" for n in vary if n != seq_name}
    user = rules.given(checks, list(kinds), fixed)
    rng = random.Random(seed)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny meta-device models: threads only add overhead

    def run(point: dict, extra=extra) -> dict[str, Fraction] | None:
        broken = next((r.text for r in user if not r.holds(point)), None)
        if broken is not None:
            return _Invalid(f"breaks --check {broken}")
        values = {**fixed, **{n: point[n] for n in pools if n not in (T, B)}}
        if seq_name:
            values[seq_name] = point[T]
        build = usercode.builder(factory, values)
        try:
            m = measure(build, point[T], point[B])
        except Exception as exc:  # the user's code refusing this shape, whatever it raises
            return _Invalid(f"{type(exc).__name__}: {exc}")
        under = {}
        for p in extra:
            try:
                under[p] = saved_under(build, point[T], point[B], p)
            except Exception as exc:  # it ran in fp32 at this shape: the precision is what fails
                raise UserError(f"{target} fails under {p} at {_shape(point, seq_name)}: {type(exc).__name__}: "
                                f"{str(exc)[:200]}; trace without it: --precision {','.join(precisions[:1])}") from None
        return _quantities(m, under, point)

    try:
        base, base_result = None, None
        for k in (0, 1, 2):  # a valid base shape: the cheapest values of the pools, else their second, third
            base = {n: p[min(k, len(p) - 1)] for n, p in pools.items()}
            base_result = run(base)
            if not isinstance(base_result, _Invalid):
                break
        if isinstance(base_result, _Invalid):
            raise UserError(f"{target} fails at {_shape(base, seq_name)}: {base_result.reason}")
        log(f"base shape {_shape(base, seq_name)} measured")
        points, results = [base], [base_result]
        # 2. scans: the degree of every quantity along every name
        found: dict[str, dict[str, int]] = {q: {} for q in base_result}
        lines: dict[str, dict] = {}  # name -> {value: row} along its scan
        for n, values in pools.items():
            xs, line = [base[n]], [base_result]
            for v in values:
                if v == base[n] or len(xs) >= SCAN:
                    continue
                r = run({**base, n: v})
                if not isinstance(r, _Invalid):
                    xs.append(v)
                    line.append(r)
                    points.append({**base, n: v})
                    results.append(r)
            lines[n] = dict(zip(xs[1:], line[1:]))
            for q in base_result:
                bound = degrees.get(n, 1 if n == B or kinds.get(n) == "bool" else 3)
                if len(xs) < 2 or all(r[q] == line[0][q] for r in line):
                    found[q][n] = 0
                elif n in degrees or kinds.get(n) == "bool":
                    found[q][n] = bound
                else:
                    label = _label(q)
                    found[q][n] = fitting.degree_along(label, _name(n, seq_name), [int(x) for x in xs],
                                                       [r[q] for r in line], bound)
        log(f"scans done ({len(points)} shapes)")
        # 3. which names interact: one shape per pair, both moved to their cheapest scanned value
        pairs = _interactions(run, base, base_result, lines, found, points, results)
        log(f"interactions done ({len(points)} shapes)")
        # 4. the fit: enough random shapes for the largest basis, then held-out ones
        cheap = _cheap(pools, found, lines, base)
        held: list[tuple[dict, dict]] = []
        while len(held) < held_out:
            _sample(run, pools, rng, points, None, 0, target, into=held)
        full: set[str] = set()  # quantities fitted on the whole basis (the pruned one missed)
        while True:
            keys = {q: fitting.key(found[q], None if q in full else pairs[q]) for q in base_result}
            design = fitting.Design(set(keys.values()))
            for p in points:
                design.add(p)
            _fill(run, design, cheap, pools, rng, points, results, target)
            _sample(run, cheap, rng, points, results, len(points) + SPARE, target)
            try:
                formulas = _fitted(points, results, keys, held, seq_name)
                break
            except fitting.NotPolynomial as exc:
                q = next((q for q in base_result if _label(q) == exc.quantity), None)
                if q is None or q in full:
                    raise
                full.add(q)
                log(f"{_label(q)}: the names' pairs did not explain it; fitting it on the whole basis")
        log(f"fitted on {len(points)} shapes, checked at {held_out} held out")
        choices = _choices(target, [r.choices for r in results])
        # 5. rules: divisibility the model holds to, probed one at a time
        integers = [n for n in kinds if kinds[n] == "integer"]
        counts = [n for n in integers if pools[n] == SMALL]
        probes = []

        def probed(point):  # fp32 alone: a shape the model refuses, or builds otherwise, shows there
            probes.append(point)
            return run(point, ())

        def agrees(point, row):
            for q, expr in formulas.items():
                if q not in row:
                    continue
                bad = fitting.residuals(expr, [point], [row[q]])
                if bad:
                    return f"{_label(q)} = {bad[0][1]}, not the fitted {bad[0][2]}"
            return None

        found_rules = rules.probe(rules.candidates(integers, counts, fixed), [*points, *(p for p, _ in held)],
                                  probed, agrees, user, "tried")
        log(f"rules: {', '.join(r.text for r in [*user, *found_rules]) or 'none'} ({len(probes)} shapes probed)")
        from costmodel.tracing.measure import step_peak

        peak = step_peak(usercode.builder(factory, {**fixed, **{n: base[n] for n in pools if n not in (T, B)},
                                                     **({seq_name: base[T]} if seq_name else {})}), base[T], base[B])
        log(f"eager fp32 AdamW step peak at the base shape (MemTracker): {peak.get('total', 0):,} bytes")
        return Traced(
            file=file.name, factory=name, sha256=usercode.sha256(file), torch_version=torch.__version__,
            vary=tuple(n for n in vary if n != seq_name), kinds=kinds, seq_name=seq_name,
            seq_default=defs.get(seq_name) if seq_name else None, fixed=fixed,
            defaults={n: defs[n] for n in vary if n in defs}, degrees=found, formulas=formulas,
            choices=choices, params_by_dtype=base_result.by_dtype, n_fit=len(points),
            rules=(*user, *found_rules), n_probed=len(probes),
            base={_name(k, seq_name): (int(v) if isinstance(v, bool) else v) for k, v in base.items()}, peak=peak,
            n_held_out=held_out, precisions=precisions, seconds=time.perf_counter() - started,
        )
    finally:
        torch.set_num_threads(torch_threads)


def _cheap(pools: dict, found: dict, lines: dict, base: dict) -> dict:
    """The pools for the random shapes: values the model took in its scan (one it refused there,
    such as 3 K/V heads for 4 query heads, is left out); a count takes its smallest, one more than
    its degree needs and one to spare (its scan has already gone to the larger ones)."""
    out = {}
    for n, values in pools.items():
        took = [v for v in values if v == base[n] or v in lines[n]]
        degree = max(d.get(n, 0) for d in found.values())
        if values == SMALL:
            took = sorted(v for v in took if v != 1)[:degree + 2] or sorted(took)
        out[n] = tuple(took) if len(took) > degree else values
    return out


def _interactions(run, base, base_result, lines, found, points, results) -> dict[str, frozenset]:
    """For every quantity, the pairs of names whose mixed difference at the base shape is not
    zero (fit.monomials prunes the basis by them): Q(a', b') - Q(a', b) - Q(a, b') + Q(a, b), with
    a' the cheapest value a's scan took. A pair whose shape the model refuses counts as interacting."""
    moved = {n: min(line, key=lambda v: (int(v), v)) for n, line in lines.items() if line}
    names = [n for n in moved if any(d.get(n, 0) for d in found.values())]
    pairs: dict[str, set] = {q: set() for q in base_result}
    for a, b in itertools.combinations(names, 2):
        wanted = [q for q in base_result if found[q].get(a, 0) and found[q].get(b, 0)]
        if not wanted:
            continue
        point = {**base, a: moved[a], b: moved[b]}
        r = run(point)
        if not isinstance(r, _Invalid):
            points.append(point)
            results.append(r)
        for q in wanted:
            if isinstance(r, _Invalid) or (r[q] - lines[a][moved[a]][q] - lines[b][moved[b]][q] + base_result[q]):
                pairs[q].add(frozenset((a, b)))
    return {q: frozenset(p) for q, p in pairs.items()}


def _fill(run, design, cheap, pools, rng, points, results, target) -> None:
    """Random shapes until every basis is determined; only shapes that pin down a coefficient
    more are measured."""
    tries = 0
    while not design.full():
        tries += 1
        if tries > 200 * design.size:
            if cheap is not pools:  # the smallest counts may all be refused: widen to the pools
                cheap, tries = pools, 0
                continue
            from costmodel.tracing.fit import Underdetermined

            raise Underdetermined(f"{target}: no valid shapes determine every coefficient; "
                                  "give --fixed values that make more varied shapes valid")
        point = {n: rng.choice(values) for n, values in cheap.items()}
        if point in points or not design.helps(point):
            continue
        r = run(point)
        if not isinstance(r, _Invalid):
            points.append(point)
            results.append(r)
            design.add(point)


def _fitted(points, results, keys, held, seq_name) -> dict:
    """Every quantity's exact polynomial on its basis, checked at the held-out shapes."""
    from costmodel.tracing import fit as fitting

    fitted = fitting.fit_all(points, {_label(q): ([r[q] for r in results], k) for q, k in keys.items()})
    formulas = {q: fitted[_label(q)] for q in keys}
    for q, expr in formulas.items():
        bad = fitting.residuals(expr, [p for p, _ in held], [r[q] for _, r in held])
        if bad:
            raise fitting.NotPolynomial(
                f"{_label(q)}: the exact fit misses held-out shapes: " + "; ".join(
                    f"at {_shape(p, seq_name)}: measured {v}, fit {got}" for p, v, got in bad), _label(q))
    return formulas


def _sample(run, pools, rng, points, results, want, target, into=None):
    """Random valid shapes until `want` (into `points`/`results`, or pairs into `into`)."""
    tries = 0
    have = (lambda: len(points)) if into is None else (lambda: len(into))
    goal = want if into is None else len(into) + 1
    while have() < goal:
        tries += 1
        if tries > 20 * max(goal, 10):
            raise UserError(f"{target}: too few valid shapes; give --fixed values that make the varied "
                            "shapes valid")
        point = {n: rng.choice(values) for n, values in pools.items()}
        if point in points or (into is not None and any(point == p for p, _ in into)):
            continue
        r = run(point)
        if isinstance(r, _Invalid):
            continue
        if into is None:
            points.append(point)
            results.append(r)
        else:
            into.append((point, r))


class _Invalid:
    def __init__(self, reason: str):
        self.reason = reason


class _Row(dict):
    """One shape's measured quantities (exact numbers), its choices and dtype counts."""

    choices: dict
    by_dtype: dict


def _quantities(m, under: dict, point) -> _Row:
    tokens = point[T] * point[B]
    o = m.observed
    row = _Row({f"n_params_{g}": Fraction(v) for g, v in m.params.items()})
    row["n_params"] = Fraction(sum(m.params.values()))
    row["flops_per_token_exact"] = Fraction(m.flops, tokens)
    row["saved"] = Fraction(m.saved)
    row["saved_loss"] = Fraction(m.saved_loss)
    for p, (outside, in_loss, copies) in under.items():
        row[f"saved/{p}"], row[f"saved_loss/{p}"] = Fraction(outside), Fraction(in_loss)
        if p != "bf16":  # a bf16 model has no weight copies
            row[f"copies/{p}"] = Fraction(copies)
    shapes = {"n_layer": o.n_blocks, "d_model": o.d_model, "vocab_size": o.vocab_rows, "n_head": o.n_head,
              "n_kv_head": o.n_kv_head, "head_dim": o.head_dim, "d_ff": o.d_ff}
    flags = ("norm_weight", "norm_bias", "tied_embeddings", "qkv_fused", "qkv_bias", "proj_bias",
             "causal_mask_buffer")
    row.update({k: Fraction(v) for k, v in shapes.items() if v is not None})
    if "head_dim" in row and "n_head" in row:  # head_dim = width / heads is rational: fit the width
        row["q_width"] = row.pop("head_dim") * row["n_head"]
    row.update({k: Fraction(int(getattr(o, k))) for k in flags})
    mlp = None
    if o.activation is not None:
        mlp = {("gelu", False): "gelu", ("gelu", True): "geglu", ("silu", True): "swiglu",
               ("silu", False): "swiglu", ("relu", False): "relu2", ("relu", True): "relu2"}.get((o.activation, o.gated))
    row.choices = {"mlp": mlp, "norm": o.norm, "attention": o.attention, "positions": o.positions}
    row.by_dtype = m.params_by_dtype
    return row


def _choices(target: str, seen: list[dict]) -> dict[str, str]:
    """mlp, norm, attention and positions: one value at every shape, else an error."""
    out = {}
    for key in seen[0]:
        values = {s[key] for s in seen}
        if len(values) > 1:
            raise UserError(f"{target}: its {key} changes with the shape ({', '.join(map(str, sorted(values, key=str)))}); "
                            "fix the name that switches it with --fixed")
        if seen[0][key] is not None:
            out[key] = seen[0][key]
    return out


def _name(n: str, seq_name: str | None) -> str:
    return {T: seq_name or "seq_len", B: "micro_batch"}.get(n, n)


def _label(q: str) -> str:
    """A quantity as messages name it (saved/amp-bf16: the bytes saved under amp-bf16)."""
    q, _, precision = q.partition("/")
    label = {"saved": "bytes saved for backward", "saved_loss": "bytes saved by the loss",
             "copies": "16-bit weight copies saved"}.get(q, q)
    return f"{label} under {precision}" if precision else label


def _shape(point: Mapping, seq_name) -> str:
    return ", ".join(f"{_name(k, seq_name)}={int(v) if isinstance(v, bool) else v}" for k, v in point.items())
