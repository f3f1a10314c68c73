"""Models whose MLP width is not a polynomial in n_embd (costmodel trace refuses them): max(n_embd, 128)
in Rounded, a // rounding to a multiple of 256 in Floored."""

from torch import nn
from torch.nn import functional as F


class Rounded(nn.Module):
    def __init__(self, n_embd=64, vocab_size=50):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.up = nn.Linear(n_embd, max(n_embd, 128))
        self.down = nn.Linear(max(n_embd, 128), n_embd)
        self.head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets):
        logits = self.head(self.down(F.gelu(self.up(self.tok(idx)))))
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


class Floored(nn.Module):
    """A SwiGLU MLP whose width is 8 d / 3 rounded up to a multiple of 256 with //, as Meta's Llama 2
    reference does (meta-llama/llama model.py FeedForward, multiple_of=256): not a polynomial in d."""

    def __init__(self, n_embd=64, vocab_size=50):
        super().__init__()
        d_ff = 256 * ((8 * n_embd // 3 + 255) // 256)
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.gate = nn.Linear(n_embd, d_ff, bias=False)
        self.up = nn.Linear(n_embd, d_ff, bias=False)
        self.down = nn.Linear(d_ff, n_embd, bias=False)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx, targets):
        x = self.tok(idx)
        logits = self.head(self.down(F.silu(self.gate(x)) * self.up(x)))
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
