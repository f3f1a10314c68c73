"""A reference GPT of modded-nanogpt as of KellerJordan/modded-nanogpt train_gpt2.py@e5b254f (2024-10-13).

GPT-2 124M's shape with what that trainer changed (L127-L241 there): rotary embeddings applied to q
and k after the fused c_attn projection is split (cos and sin in fp32, so the rotated q and k come
out fp32 and SDPA's autocast cast makes their 16-bit copies), a weightless RMS norm computed in fp32
and cast back to its input's dtype, relu(x)^2 in the MLP, no biases, lm_head tied to the token
embedding, and the logits cast to fp32 before the loss. Written for tests/validation from reading
that file; only the tensors autograd and the compiled graph keep matter here.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def rms_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Weightless RMS norm in fp32, returned in the input's dtype (train_gpt2.py L136-L139)."""
    y = x.float()
    return (y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + eps)).type_as(x)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding on (B, T, H, D): the two halves of D rotated by fp32 cos and sin (L127-L134)."""
    half = x.shape[3] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos + b * sin, a * (-sin) + b * cos], 3)


class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.width, self.heads = width, heads
        self.c_attn = nn.Linear(width, 3 * width, bias=False)
        self.c_proj = nn.Linear(width, width, bias=False)
        head = width // heads
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, head, 2).float() / head))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        q, k, v = (t.view(batch, steps, self.heads, -1) for t in self.c_attn(x).split(self.width, dim=2))
        angles = torch.outer(torch.arange(steps).type_as(self.inv_freq), self.inv_freq)
        cos, sin = angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(batch, steps, self.width))


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = Attention(width, heads)
        self.c_fc = nn.Linear(width, 4 * width, bias=False)
        self.c_proj = nn.Linear(4 * width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(rms_norm(x))
        return x + self.c_proj(F.relu(self.c_fc(rms_norm(x))).square())


class RefModded(nn.Module):
    def __init__(self, n_layer: int, n_head: int, n_embd: int, vocab_size: int):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.blocks = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # tied

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(rms_norm(x)).float()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
