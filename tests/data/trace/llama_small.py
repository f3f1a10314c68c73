"""A small Llama-shaped model for tests/test_trace.py (costmodel trace runs it on the meta device).

Pre-norm blocks with RMSNorm weights (F.rms_norm), separate q/k/v Linears without biases, rotary
positions applied as elementwise products with cos/sin tables (buffers), grouped-query attention
through F.scaled_dot_product_attention(enable_gqa=True), a SwiGLU MLP down(silu(gate(x)) * up(x)),
a final norm and an untied lm_head; the loss is F.cross_entropy on the logits. This is the
architecture of Touvron et al. 2023 (LLaMA, arXiv:2302.13971) section 2.2 as costmodel's features
describe it (mlp="swiglu", norm="rmsnorm", positions="rotary", tied_embeddings=false).
"""

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, d_model, n_head, n_kv_head, d_ff):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = n_head, n_kv_head, d_model // n_head
        self.norm_1 = nn.Parameter(torch.ones(d_model))
        self.norm_2 = nn.Parameter(torch.ones(d_model))
        self.q = nn.Linear(d_model, n_head * self.head_dim, bias=False)
        self.k = nn.Linear(d_model, n_kv_head * self.head_dim, bias=False)
        self.v = nn.Linear(d_model, n_kv_head * self.head_dim, bias=False)
        self.o = nn.Linear(n_head * self.head_dim, d_model, bias=False)
        self.gate = nn.Linear(d_model, d_ff, bias=False)
        self.up = nn.Linear(d_model, d_ff, bias=False)
        self.down = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = F.rms_norm(x, (x.shape[-1],), self.norm_1)
        q = self.q(h).view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = self.k(h).view(b, t, self.n_kv_head, self.head_dim).transpose(1, 2)
        v = self.v(h).view(b, t, self.n_kv_head, self.head_dim).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        x = x + self.o(y.transpose(1, 2).reshape(b, t, -1))
        h = F.rms_norm(x, (x.shape[-1],), self.norm_2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Llama(nn.Module):
    def __init__(self, n_layer=2, d_model=64, n_head=4, n_kv_head=2, d_ff=128, vocab_size=100, max_seq_len=32):
        super().__init__()
        if d_model % n_head or n_head % n_kv_head or (d_model // n_head) % 2:
            raise ValueError("d_model must split into an even head size, n_head into kv groups")
        self.embed = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head, n_kv_head, d_ff) for _ in range(n_layer))
        self.norm = nn.Parameter(torch.ones(d_model))
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        hd = d_model // n_head
        freq = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        angles = torch.outer(torch.arange(max_seq_len).float(), freq).repeat(1, 2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.embed(idx)
        cos, sin = self.cos[:t], self.sin[:t]
        for block in self.blocks:
            x = block(x, cos, sin)
        logits = self.lm_head(F.rms_norm(x, (x.shape[-1],), self.norm))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def build(n_layer=2, d_model=64, n_head=4, n_kv_head=2, d_ff=128, vocab_size=100, max_seq_len=32):
    """The factory costmodel trace calls."""
    return Llama(n_layer, d_model, n_head, n_kv_head, d_ff, vocab_size, max_seq_len)
