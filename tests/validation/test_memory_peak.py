"""mem_peak - mem_overhead against the measured peak of whole eager training steps, within 5%.

Each case runs two optimizer steps of grad_accum >= 2 micro-steps each (forward, backward, step,
zero_grad(set_to_none=True)), as the upstream loops do, under CUDA semantics (memory_models.py),
and takes the peak of all live tensors from torch.distributed._tools.mem_tracker.MemTracker: weights,
gradients, optimizer states, activations and every temporary of forward, backward and step. The
second step is the steady state (states exist). Buffers are left out on both sides: the reference
models' buffers (a causal mask, fp32 rotary tables of seq_len rows) are not the upstream ones.

The optimizers: nanoGPT's fused AdamW; for nanochat fused AdamW, or Muon for the block matrices
(v0: one matrix at a time; head: MuonAdamW's stacked groups, memory_models.MuonStacked) with fused
AdamW for the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed._tools.mem_tracker")

sys.path.insert(0, str(Path(__file__).parent))
import memory_models as M  # noqa: E402

from costmodel.api import estimate  # noqa: E402

TOLERANCE = 0.05
ERRORS: list[float] = []


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def measured_peak(run: M.Run, optimizer, grad_accum: int, steps: int = 2) -> float:
    """Peak bytes of all tracked tensors over `steps` optimizer steps, buffers left out."""
    from torch.distributed._tools.mem_tracker import MemTracker

    tracker = MemTracker()
    optimizers = optimizer.optimizers if isinstance(optimizer, M.Optimizers) else (optimizer,)
    tracker.track_external(run.model, *optimizers)
    loop = {}
    with tracker:
        for _ in range(steps):
            for _ in range(grad_accum):
                tracker.reset_mod_stats()  # MemTracker refuses a second root forward otherwise
                run.new_batch()
                loss, loop["held"] = run.forward()  # the loop keeps what the model hands back
                (loss / grad_accum).backward()
                del loss
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    (snapshot,) = tracker.get_tracker_snapshot("peak").values()
    by_kind = {str(k).split(".")[-1].upper(): v for k, v in snapshot.items()}
    return by_kind["TOTAL"] - by_kind.get("BUFFER", 0)


def predicted_peak(family: str, values: dict) -> tuple[float, int]:
    r = estimate(family, values=values)
    byte = lambda name: r.results[name].m_as("byte")  # noqa: E731
    return byte("mem_peak") - byte("mem_overhead") - byte("mem_buffers"), int(r.results["peak_moment"].magnitude)


# (shape, precision, attention, grad_accum): shapes where the logits, the blocks or the embedding
# gradient make the peak
GPT_CASES = [
    ((2, 2, 32, 512, 16, 4), "amp-bf16", "flash", 2),
    ((2, 2, 32, 512, 16, 4), "fp32", "eager", 3),
    ((2, 4, 64, 128, 32, 3), "amp-bf16", "eager", 2),
    ((2, 4, 64, 128, 32, 3), "bf16", "flash", 2),
    ((3, 3, 48, 1000, 12, 2), "fp32", "flash", 2),
    ((3, 3, 48, 1000, 12, 2), "amp-bf16", "flash", 2),
    ((4, 2, 32, 64, 64, 2), "fp32", "flash", 2),
    ((4, 2, 32, 64, 64, 2), "bf16", "eager", 3),
]

CHAT_CASES = [
    ("v0", "amp-bf16", "adamw", (2, 32, 16, 96, 16, 2)),
    ("v0", "amp-bf16", "muon", (3, 32, 32, 100, 16, 3)),
    ("v0", "amp-bf16", "muon", (4, 16, 16, 512, 8, 2)),
    ("head", "amp-bf16", "adamw", (3, 32, 32, 100, 16, 3)),
    ("head", "amp-bf16", "muon", (2, 32, 16, 96, 16, 2)),
    ("head", "fp32", "adamw", (2, 32, 16, 96, 16, 2)),
    ("head", "fp32", "muon", (4, 16, 16, 512, 8, 2)),
]


@pytest.mark.parametrize("shape,precision,attention,grad_accum", GPT_CASES)
def test_nanogpt_step_peak(shape, precision, attention, grad_accum):
    kw = dict(attention=attention, precision=precision)
    run = M.nanogpt_run(*shape, **kw)
    optimizer = torch.optim.AdamW(run.model.parameters(), lr=1e-3, fused=True)  # train.py on CUDA
    measured = measured_peak(run, optimizer, grad_accum)
    prediction, moment = predicted_peak("nanogpt", M.nanogpt_values(*shape, grad_accum=grad_accum, **kw))
    error = prediction / measured - 1
    ERRORS.append(abs(error))
    assert abs(error) < TOLERANCE, f"moment {moment}: measured {measured:.0f}, costmodel off by {error:+.2%}"


@pytest.mark.parametrize("version,precision,optimizer,shape", CHAT_CASES)
def test_nanochat_step_peak(version, precision, optimizer, shape):
    depth, aspect_ratio, head_dim, vocab_size, seq_len, micro_batch = shape
    kw = dict(aspect_ratio=aspect_ratio, head_dim=head_dim, vocab_size=vocab_size, seq_len=seq_len,
              micro_batch=micro_batch, precision=precision)
    run = M.nanochat_run(version, depth, **kw)
    measured = measured_peak(run, M.nanochat_optimizer(run, version, optimizer), 2)
    values = {**M.nanochat_values(version, depth, grad_accum=2, **kw), "optimizer": optimizer}
    prediction, moment = predicted_peak("nanochat", values)
    error = prediction / measured - 1
    ERRORS.append(abs(error))
    assert abs(error) < TOLERANCE, f"moment {moment}: measured {measured:.0f}, costmodel off by {error:+.2%}"


def test_report_max_error(capsys):
    with capsys.disabled():
        if ERRORS:
            print(f"\n[memory] step peak: {len(ERRORS)} runs, max error {max(ERRORS):.3%}")
