"""A small PyTorch GPT with nanoGPT's architecture, written for the validation tests.

It has the same modules, shapes and weight tying as karpathy/nanoGPT model.py@3adf61e154c3
(L18-L193), so its parameters and its matmul FLOPs are the ones nanoGPT has; it is not a copy of
that code. What it leaves out does not change either count: weight initialisation, dropout
probabilities other than 0, checkpoint loading, the optimizer and sampling.

    wte [vocab, d] (tied to lm_head), wpe [block, d], dropout
    n_layer x Block:  x + attn(ln_1(x));  x + mlp(ln_2(x))
        attn: c_attn d->3d, split into heads, causal attention, c_proj d->d
        mlp:  c_fc d->4d, GELU, c_proj 4d->d
    ln_f, lm_head d->vocab (no bias)

`attention="flash"` calls F.scaled_dot_product_attention(is_causal=True), as nanoGPT does on
PyTorch >= 2.0 (model.py L62-L64); `attention="eager"` writes softmax(Q K^T / sqrt(hs)) V out with a
causal mask, as nanoGPT's fallback does (model.py L65-L71).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class RefConfig:
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    vocab_size: int = 64
    block_size: int = 16  # size of wpe: the longest sequence the model accepts
    bias: bool = True  # nanoGPT's GPTConfig default (model.py L116); train.py sets False (L56)
    attention: str = "flash"  # "flash" (SDPA) or "eager" (explicit softmax)
    dropout: float = 0.0


class LayerNormOptionalBias(nn.Module):
    """LayerNorm with an optional bias (nn.LayerNorm gained `bias=` only in PyTorch 2.1)."""

    def __init__(self, width: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, eps=1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: RefConfig):
        super().__init__()
        if cfg.n_embd % cfg.n_head:
            raise ValueError("n_embd must be a multiple of n_head")
        self.n_head = cfg.n_head
        self.attention = cfg.attention
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v at once
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.attn_drop = nn.Dropout(cfg.dropout)
        self.resid_drop = nn.Dropout(cfg.dropout)
        # a buffer, not a parameter: it is not counted (nanoGPT registers it only without SDPA)
        mask = torch.tril(torch.ones(cfg.block_size, cfg.block_size, dtype=torch.bool))
        self.register_buffer("causal_mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, width = x.shape
        head = width // self.n_head

        def heads(t: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, nh, T, hs)
            return t.view(batch, steps, self.n_head, head).transpose(1, 2)

        q, k, v = (heads(t) for t in self.c_attn(x).split(width, dim=2))
        if self.attention == "flash":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif self.attention == "eager":
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(head)
            scores = scores.masked_fill(~self.causal_mask[:steps, :steps], float("-inf"))
            y = self.attn_drop(F.softmax(scores, dim=-1)) @ v
        else:
            raise ValueError(f"attention must be 'flash' or 'eager', not {self.attention!r}")
        y = y.transpose(1, 2).contiguous().view(batch, steps, width)
        return self.resid_drop(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: RefConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: RefConfig):
        super().__init__()
        self.ln_1 = LayerNormOptionalBias(cfg.n_embd, cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNormOptionalBias(cfg.n_embd, cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class RefGPT(nn.Module):
    def __init__(self, cfg: RefConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = LayerNormOptionalBias(cfg.n_embd, cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying: one tensor, two uses

    def unique_param_count(self) -> int:
        """Every trainable number once (`parameters()` yields a tied tensor once)."""
        seen = {id(p): p.numel() for p in self.parameters() if p.requires_grad}
        return sum(seen.values())

    def reported_param_count(self) -> int:
        """What nanoGPT prints: all parameters less the position embedding (model.py L150-L160)."""
        return self.unique_param_count() - self.wpe.weight.numel()

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Training forward: logits at every position (model.py L184-L187) and the mean loss."""
        steps = idx.shape[1]
        if steps > self.cfg.block_size:
            raise ValueError(f"{steps} tokens is longer than block_size {self.cfg.block_size}")
        pos = torch.arange(steps, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
