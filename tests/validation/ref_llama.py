"""A reference Llama in PyTorch, written from the architecture's definition, for validation only.

The architecture (Touvron et al. 2023, Llama 2, arXiv:2307.09288 section 2.2; as built by
huggingface/transformers models/llama/modeling_llama.py and, for Qwen2's biases,
models/qwen2/modeling_qwen2.py):

    x = embed_tokens(idx)                                     [V, d] lookup
    per block:
        h = rmsnorm(x) * w1                                   RMSNorm with a weight, no bias
        q = h Wq (+bq), k = h Wk (+bk), v = h Wv (+bv)        d -> n_head*hd, d -> n_kv_head*hd (x2)
        q, k = rotary(q), rotary(k)                           no parameters
        each K/V head serves n_head / n_kv_head query heads (grouped-query attention)
        a = causal softmax(q k^T / sqrt(hd)) v                eager: written out, K/V repeated as
                                                              transformers' repeat_kv does; flash:
                                                              SDPA with enable_gqa
        x = x + a Wo (+bo)                                    n_head*hd -> d
        h = rmsnorm(x) * w2
        x = x + down(silu(gate(h)) * up(h))                   SwiGLU (Shazeer 2020, arXiv:2002.05202)
    logits = rmsnorm(x) * wf @ lm_head                        lm_head tied to embed_tokens or not
    loss = cross_entropy(logits, targets)

Nothing here is read from costmodel: counts are taken from the module tree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class LlamaConfig:
    n_layer: int
    d_model: int
    n_head: int
    n_kv_head: int
    d_ff: int
    vocab_size: int
    seq_len: int
    head_dim: int | None = None  # None: d_model // n_head
    tied_embeddings: bool = False
    qkv_bias: bool = False
    out_bias: bool = False
    mlp_bias: bool = False
    attention: str = "eager"  # "eager" (Q K^T and A V as matmuls) or "flash" (SDPA)
    eps: float = 1e-5

    @property
    def hd(self) -> int:
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_head


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return F.rms_norm(x, (x.size(-1),), self.weight, self.eps)


def rotary_tables(seq_len: int, hd: int, base: float = 10000.0):
    inv_freq = 1.0 / base ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def rotate(x, cos, sin):
    """Rotary embedding on pairs (first half, second half) of the last dimension of a
    (B, T, heads, hd) tensor; cos and sin are (T, hd/2) tables."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos[:, None, :], sin[:, None, :]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        hd = cfg.hd
        self.q_proj = nn.Linear(cfg.d_model, cfg.n_head * hd, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(cfg.d_model, cfg.n_kv_head * hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(cfg.d_model, cfg.n_kv_head * hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.n_head * hd, cfg.d_model, bias=cfg.out_bias)

    def forward(self, x, cos, sin):
        cfg, (B, T, _) = self.cfg, x.shape
        hd, group = cfg.hd, cfg.n_head // cfg.n_kv_head
        # rotary in the (B, T, heads, hd) layout, then heads first for attention: SDPA's output then
        # has the (B, T, heads, hd) layout, as CUDA's kernels give it, and o_proj reads it uncopied
        q = rotate(self.q_proj(x).view(B, T, cfg.n_head, hd), cos, sin).transpose(1, 2)
        k = rotate(self.k_proj(x).view(B, T, cfg.n_kv_head, hd), cos, sin).transpose(1, 2)
        v = self.v_proj(x).view(B, T, cfg.n_kv_head, hd).transpose(1, 2)
        if cfg.attention == "flash":  # SDPA shares each K/V head among its group (enable_gqa)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=group > 1)
        else:
            if group > 1:  # transformers' repeat_kv: every K/V head copied for its `group` query heads
                k = k.repeat_interleave(group, dim=1)
                v = v.repeat_interleave(group, dim=1)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
            y = F.softmax(scores, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, cfg.n_head * hd))


class MLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.d_ff, bias=cfg.mlp_bias)
        self.up_proj = nn.Linear(cfg.d_model, cfg.d_ff, bias=cfg.mlp_bias)
        self.down_proj = nn.Linear(cfg.d_ff, cfg.d_model, bias=cfg.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.d_model, cfg.eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.d_model, cfg.eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class RefLlama(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model, cfg.eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tied_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = rotary_tables(cfg.seq_len, cfg.hd)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, idx, targets=None):
        x = self.embed_tokens(idx)
        T = idx.size(1)
        cos, sin = self.cos[:T], self.sin[:T]
        for block in self.layers:
            x = block(x, cos, sin)
        logits = self.lm_head(self.norm(x))
        if targets is None:
            return logits
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1))

    def unique_param_count(self) -> int:
        """Trainable parameters, each shared tensor once (the tied lm_head adds nothing)."""
        return sum(p.numel() for p in self.parameters())  # parameters() yields a shared tensor once

    def matmul_weight_count(self) -> int:
        """Weights of every nn.Linear as it multiplies tokens: a tied lm_head counts again."""
        return sum(m.weight.numel() for m in self.modules() if isinstance(m, nn.Linear))
