"""The test suite's reference nanoGPT (tests/validation/ref_nanogpt.py) as a factory for costmodel trace."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "validation"))
from ref_nanogpt import RefConfig, RefGPT  # noqa: E402


def gpt(n_layer=2, n_head=2, n_embd=32, vocab_size=64, block_size=16, bias=True, attention="flash"):
    return RefGPT(RefConfig(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                            block_size=block_size, bias=bias, attention=attention))
