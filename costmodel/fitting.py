"""The largest micro-batch under constraints, with the tokens per optimizer step kept as they are.

A user who asks for the largest micro-batch that fits (`--given fits=1`, or `--maximize micro_batch
--subject-to "mem_peak <= gpu_memory_usable"`) wants the same training run in fewer, larger
micro-steps: the sequences per step on one GPU (micro_batch x grad_accum) stay fixed and the
accumulation goes down. So the candidates are the divisors of that product; feasibility mostly
falls as the micro-batch grows, so a bisection over the divisors finds a boundary, and every larger
divisor is tried as well: the one that leaves a single micro-step holds no gradient accumulation
buffer and can fit where a smaller one did not. When the
user fixed grad_accum, the tokens per step cannot stay: the note says so and the step grows.

Each candidate is a full scenario (composed and evaluated), so the family's rules (nanochat's
total_batch_size must be a whole number of micro-steps) hold for every answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from costmodel import units
from costmodel.errors import UserError

FITS = "mem_peak <= gpu_memory_usable"


def divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def largest_micro_batch(base, build: Callable, constraints: Sequence[str]) -> tuple[dict, list[str]]:
    """The values to add to the request (micro_batch, and grad_accum where it is an input), and the
    notes that say what changed. `base` is the evaluation of the request as given; `build(values)`
    evaluates the request with more values and returns (evaluation, parsed constraints)."""
    s = base.scenario
    env = base.env
    micro, accum = int(env["micro_batch"]), int(env.get("grad_accum", 1))
    per_gpu = micro * accum  # sequences per optimizer step on one GPU
    rule = s.formulas.get("grad_accum")
    follows = rule is not None and not rule.formula.overridable  # accumulation follows the batch rule
    accum_given = "grad_accum" in s.pinned
    notes: list[str] = []

    def values_for(m: int) -> dict:
        if follows or accum_given:
            return {"micro_batch": m}
        return {"micro_batch": m, "grad_accum": per_gpu // m}

    def feasible(m: int) -> bool:
        try:
            evaluation, parsed = build(values_for(m))
        except UserError:
            return False  # a family rule the candidate breaks
        return all(_holds(c, evaluation.env) for c in parsed)

    def feasible_with_one(m: int) -> bool:
        try:
            evaluation, parsed = build({"micro_batch": m, "grad_accum": 1})
        except UserError:
            return False
        return all(_holds(c, evaluation.env) for c in parsed)

    if accum_given:
        candidates = list(range(1, 1 << 16))
        notes.append(f"grad_accum = {accum} is given, so the tokens per step grow with the micro-batch")
    else:
        candidates = divisors(per_gpu)
    first = best = _bisect(candidates, feasible)
    if best is not None:
        best = _beyond(candidates, best, feasible)
    if best is None:
        raise UserError(f"no micro-batch meets {', '.join(constraints)}: " + _at_one(build, values_for(1)))
    chosen = values_for(best)
    if not accum_given:
        tokens = env.get("tokens_per_iter")
        kept = f"keeps {units.format_quantity(tokens, 'token/iteration')} per step" if tokens else "keeps the step"
        notes.append(
            f"micro_batch = {best} is the largest that meets {', '.join(constraints)} "
            f"(was {micro}); grad_accum {accum} -> {per_gpu // best} {kept}"
        )
        bigger = [d for d in candidates if d > best]
        if bigger:
            notes.append(f"micro_batch = {bigger[0]} (the next whole share of {per_gpu} sequences per "
                         "GPU and step) does not meet it")
        elif not follows and feasible_with_one(best + 1):
            notes.append(f"micro_batch = {best} already runs without accumulation: it cannot grow "
                         "without changing the tokens per step (give grad_accum=1 to let it grow)")
    if best != first:
        skipped = next(m for m in candidates if m > first)
        notes.append(f"micro_batch = {skipped} does not meet it but {best} does: with fewer micro-steps "
                     "per step, fewer buffers are held across them")
    return chosen, notes


def _at_one(build: Callable, values: dict) -> str:
    """What micro_batch = 1 needs, in the words of the memory verdict."""
    from costmodel.summary import FIT_HINT, feasibility

    try:
        evaluation, _ = build(values)
    except UserError as exc:
        return f"micro_batch = 1 is refused ({exc})"
    q = evaluation.scenario.registry.quantities
    verdict = feasibility(evaluation.env, lambda n: q[n].unit)
    if verdict is None:
        return "even micro_batch = 1 breaks it"
    text = verdict.replace("; " + FIT_HINT, "").replace("DOES NOT FIT: ", "")
    return f"even at micro_batch = 1, {text}; `costmodel plan` searches the recipes for one that fits"


def _bisect(candidates: list[int], feasible: Callable[[int], bool]) -> int | None:
    """The largest feasible candidate, feasibility falling with size (checked at the answer)."""
    lo, hi = 0, len(candidates) - 1
    best = None
    if candidates and len(candidates) > 64:  # unbounded search: double first
        k = 1
        while k < len(candidates) and feasible(candidates[k - 1]):
            best, k = candidates[k - 1], k * 2
        if best is None:
            return None
        lo, hi = candidates.index(best), min(k - 1, len(candidates) - 1)
    while lo <= hi:
        mid = (lo + hi) // 2
        if feasible(candidates[mid]):
            best, lo = candidates[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _beyond(candidates: list[int], best: int, feasible: Callable[[int], bool]) -> int:
    """Feasibility need not fall with size: the whole share that leaves one micro-step per step
    drops the gradient accumulation buffer and can fit where a smaller share did not. Every whole
    share above the bisection's answer is tried (a product of a few thousand sequences has at most
    a few dozen divisors); an open range (grad_accum given) is probed at 2x, 4x, ... the answer."""
    if len(candidates) <= 256:
        larger = [m for m in candidates if m > best]
        return next((m for m in reversed(larger) if feasible(m)), best)
    for _ in range(16):
        probes = [best << k for k in range(1, 17) if best << k <= candidates[-1]]
        found = next((m for m in probes if feasible(m)), None)
        if found is None:
            return best
        best = _bisect([m for m in candidates if m >= found], feasible) or found
    return best


def _holds(c, env: dict) -> bool:
    from costmodel.optimisation import _holds as holds

    return holds(c, env)
