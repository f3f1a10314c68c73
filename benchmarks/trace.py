"""Time `costmodel trace` on a 12-layer GPT-2-sized nanoGPT (the test suite's reference model).

    python benchmarks/trace.py

The factory's defaults are GPT-2 small's (12 layers, 12 heads, 768 wide, vocabulary 50304,
1024 positions); trace varies n_layer, n_head, n_embd and vocab_size (and the sequence length,
tied to block_size) over its pools, as a user would trace it, with the default precisions (fp32
and amp-bf16) and with fp32 alone. Prints the wall and CPU time of the whole trace (model
building, measuring, exact fitting) against the target of issue 14 (< 60 s on two CPU cores), and
PASS or MISS; asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

FACTORY = '''
import sys
sys.path.insert(0, {validation!r})
from ref_nanogpt import RefConfig, RefGPT


def gpt2(n_layer=12, n_head=12, n_embd=768, vocab_size=50304, block_size=1024, bias=False):
    return RefGPT(RefConfig(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                            block_size=block_size, bias=bias))
'''


def main() -> int:
    from costmodel.tracing import trace

    validation = str(Path(__file__).resolve().parents[1] / "tests" / "validation")
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "gpt2.py"
        file.write_text(FACTORY.format(validation=validation))
        for precisions in (("fp32", "amp-bf16"), ("fp32",)):
            wall, cpu = time.perf_counter(), time.process_time()
            traced = trace(f"{file}:gpt2", ["n_layer", "n_head", "n_embd", "vocab_size"], precisions=precisions)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            shapes = traced.n_fit + traced.n_held_out
            verdict = "PASS" if wall < 60 else "MISS"
            print(f"trace of a 12-layer GPT-2 nanoGPT ({', '.join(precisions)}): {wall:.1f} s wall, {cpu:.1f} s CPU, "
                  f"{shapes} shapes, {len(traced.formulas)} quantities (target < 60 s on two cores, "
                  f"{os.cpu_count()} here): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
