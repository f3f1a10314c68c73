"""Activations under torch.compile: what inductor's compiled graph saves, against costmodel (2%).

Slow (15-50 s of compilation per model on 2 cores), so it runs only with COSTMODEL_SLOW=1. The
forward runs through torch.compile under the same CUDA semantics as the eager tests (dynamo traces
memory_probe.CudaSemantics' casts into the graph, as it traces CUDA autocast's); the tensors the
compiled graph saves are read from its autograd node (CompiledFunctionBackward.saved_tensors),
parameters and buffers left out. Measured on torch 2.13 CPU inductor: nanoGPT 0.8% (the position
embedding's output, T x d fp32, is saved by the compiled graph only), nanochat v0 and head < 0.1%.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not os.environ.get("COSTMODEL_SLOW"), reason="set COSTMODEL_SLOW=1 (compiles)")

sys.path.insert(0, str(Path(__file__).parent))
import memory_models as M  # noqa: E402
from memory_probe import CudaSemantics  # noqa: E402

from costmodel.api import estimate  # noqa: E402


def compiled_saved_bytes(run: M.Run) -> int:
    model = run.model
    compiled = torch.compile(model)
    with CudaSemantics(M.AUTOCAST_DTYPE[run.precision]):
        loss = compiled(run.idx, run.targets)
    excluded = {t.untyped_storage()._cdata for t in [*model.parameters(), *model.buffers()]}
    seen = {}
    for t in loss.grad_fn.saved_tensors:
        key = t.untyped_storage()._cdata
        if key not in excluded:
            seen[key] = t.untyped_storage().nbytes()
    return sum(seen.values())


def predicted(family, values) -> float:
    r = estimate(family, values={**values, "compile": True})
    return r.results["mem_activations"].m_as("byte") + r.results["mem_logits"].m_as("byte")


def test_compiled_nanogpt():
    shape = (2, 2, 64, 512, 32, 4)
    run = M.nanogpt_run(*shape)
    assert predicted("nanogpt", M.nanogpt_values(*shape)) == pytest.approx(compiled_saved_bytes(run), rel=0.02)


@pytest.mark.parametrize("version,depth", [("v0", 2), ("head", 2), ("head", 4)])
def test_compiled_nanochat(version, depth):
    kw = dict(aspect_ratio=64, head_dim=32, vocab_size=256, seq_len=32, micro_batch=4, precision="amp-bf16")
    run = M.nanochat_run(version, depth, **kw)
    values = M.nanochat_values(version, depth, **kw)
    assert predicted("nanochat", values) == pytest.approx(compiled_saved_bytes(run), rel=0.02)
