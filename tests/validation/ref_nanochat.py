"""Small PyTorch models with nanochat's two architectures, written for the validation tests.

`version="v0"` has the modules and shapes of karpathy/nanochat nanochat/gpt.py@fae3aca9519a, and
`version="head"` those of nanochat/gpt.py@92d63d4e8bb4; `config_from_depth` applies the depth rules
of the matching scripts/base_train.py. This is not a copy of that code: it is a second, independent
rendering of the same architecture, so that a count that agrees is a count that was checked. Left
out, because they change neither a parameter count nor a matmul: weight initialisation, dtypes
(everything here is fp32 on the CPU), KV caches and sampling, the optimizer itself.

Both versions:
    wte [V, d] -> rms_norm (no weights anywhere: F.rms_norm without a scale)
    n_layer x block:  x + attn(norm(x));  x + mlp(norm(x))
        attn: c_q d -> H*hd, c_k and c_v d -> Hkv*hd, rotary on q and k, QK rms_norm,
              causal attention (Hkv < H: key/value heads shared by groups of queries), c_proj d -> d
        mlp:  c_fc d -> 4d, relu(x)**2, c_proj 4d -> d
    norm -> lm_head d -> V (untied, no bias) -> 15 * tanh(logits / 15) -> cross entropy
head adds:
    vocabulary padded to a multiple of 64 (wte and lm_head rows; logits cropped to V)
    smear: x[t] += smear_lambda * sigmoid(smear_gate(x[t, :24])) * x[t-1] for t >= 1 (Linear 24 -> 1)
    per layer: x = resid_lambdas[i] * x + x0_lambdas[i] * x0 before the block
    value embeddings on the layers with the parity of the last one: v += 3 * sigmoid(ve_gate(x[:, :12]))
        * ve(idx) per kv head (ve: Embedding V -> Hkv*hd, ve_gate: Linear 12 -> Hkv)
    q and k scaled by 1.2 after the norm; sliding windows per window_pattern (S: a quarter of the
        context rounded up to 128 keys; the last layer always full)
    backout: x -= backout_lambda * (residual after layer n_layer // 2) before the final norm

`attention="eager"` writes softmax(Q K^T / sqrt(hd)) V out with the causal (and window) mask;
`attention="flash"` calls F.scaled_dot_product_attention, with is_causal or a boolean mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

VERSIONS = ("v0", "head")
SOFTCAP = 15.0
SMEAR_CHANNELS = 24
VE_GATE_CHANNELS = 12


@dataclass(frozen=True)
class RefConfig:
    version: str
    n_layer: int
    n_embd: int
    n_head: int
    n_kv_head: int
    vocab_size: int
    seq_len: int
    window_pattern: str = "SSSL"  # head only
    attention: str = "eager"  # "eager" or "flash"


def config_from_depth(version: str, depth: int, *, aspect_ratio: int = 64, head_dim: int = 128,
                      vocab_size: int, seq_len: int, n_kv_head: int | None = None,
                      window_pattern: str = "SSSL", attention: str = "eager") -> RefConfig:
    """base_train's sizing: v0 widths 64 * depth with heads of about 128; head rounds the width up
    to a whole number of heads of exactly `head_dim`."""
    if version == "v0":
        width = depth * aspect_ratio
        heads = max(1, math.ceil(width / head_dim))
    elif version == "head":
        heads = math.ceil(depth * aspect_ratio / head_dim)
        width = heads * head_dim
    else:
        raise ValueError(f"version must be one of {VERSIONS}")
    return RefConfig(
        version=version, n_layer=depth, n_embd=width, n_head=heads,
        n_kv_head=heads if n_kv_head is None else n_kv_head, vocab_size=vocab_size,
        seq_len=seq_len, window_pattern=window_pattern, attention=attention,
    )


def padded_vocab(cfg: RefConfig) -> int:
    return cfg.vocab_size if cfg.version == "v0" else 64 * math.ceil(cfg.vocab_size / 64)


def layer_windows(cfg: RefConfig) -> list[int]:
    """Keys to the left each layer's queries may see (besides their own position)."""
    if cfg.version == "v0":
        return [cfg.seq_len] * cfg.n_layer
    short = 128 * math.ceil(math.ceil(cfg.seq_len / 4) / 128)
    tiles = (cfg.window_pattern * cfg.n_layer)[: cfg.n_layer]
    windows = [short if c == "S" else cfg.seq_len for c in tiles]
    windows[-1] = cfg.seq_len
    return windows


def has_value_embedding(cfg: RefConfig, layer: int) -> bool:
    return cfg.version == "head" and (cfg.n_layer - 1 - layer) % 2 == 0


def rms(x: torch.Tensor) -> torch.Tensor:
    return F.rms_norm(x, (x.shape[-1],))


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding on (B, T, H, hd): channel i of the first half pairs with i of the second."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat((first * cos + second * sin, second * cos - first * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: RefConfig, layer: int, window: int):
        super().__init__()
        if cfg.n_embd % cfg.n_head or cfg.n_head % cfg.n_kv_head:
            raise ValueError("n_embd must divide into n_head heads, n_head into n_kv_head groups")
        self.cfg, self.window = cfg, window
        self.hd = cfg.n_embd // cfg.n_head
        self.c_q = nn.Linear(cfg.n_embd, cfg.n_head * self.hd, bias=False)
        self.c_k = nn.Linear(cfg.n_embd, cfg.n_kv_head * self.hd, bias=False)
        self.c_v = nn.Linear(cfg.n_embd, cfg.n_kv_head * self.hd, bias=False)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.ve_gate = (nn.Linear(VE_GATE_CHANNELS, cfg.n_kv_head, bias=False)
                        if has_value_embedding(cfg, layer) else None)

    def mask(self, steps: int) -> torch.Tensor:
        """True where query t may attend to key s: s <= t and t - s <= window."""
        t = torch.arange(steps).unsqueeze(1)
        s = torch.arange(steps).unsqueeze(0)
        return (s <= t) & (t - s <= self.window)

    def forward(self, x, cos, sin, ve=None):
        cfg, (batch, steps, _) = self.cfg, x.shape
        q = self.c_q(x).view(batch, steps, cfg.n_head, self.hd)
        k = self.c_k(x).view(batch, steps, cfg.n_kv_head, self.hd)
        v = self.c_v(x).view(batch, steps, cfg.n_kv_head, self.hd)
        if ve is not None:
            gate = 3 * torch.sigmoid(self.ve_gate(x[..., :VE_GATE_CHANNELS]))
            v = v + gate.unsqueeze(-1) * ve.view(batch, steps, cfg.n_kv_head, self.hd)
        q, k = rms(rotate(q, cos, sin)), rms(rotate(k, cos, sin))
        if cfg.version == "head":
            q, k = 1.2 * q, 1.2 * k
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, heads, T, hd)
        windowed = self.window < steps - 1
        if cfg.attention == "flash":
            kwargs = {"attn_mask": self.mask(steps)} if windowed else {"is_causal": True}
            y = F.scaled_dot_product_attention(q, k, v, enable_gqa=cfg.n_kv_head != cfg.n_head, **kwargs)
        elif cfg.attention == "eager":
            group = cfg.n_head // cfg.n_kv_head
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
            scores = scores.masked_fill(~self.mask(steps), float("-inf"))
            y = F.softmax(scores, dim=-1) @ v
        else:
            raise ValueError(f"attention must be 'eager' or 'flash', not {cfg.attention!r}")
        return self.c_proj(y.transpose(1, 2).reshape(batch, steps, cfg.n_embd))


class MLP(nn.Module):
    def __init__(self, cfg: RefConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=False)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)).square())


class Block(nn.Module):
    def __init__(self, cfg: RefConfig, layer: int, window: int):
        super().__init__()
        self.attn = Attention(cfg, layer, window)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, ve=None):
        x = x + self.attn(rms(x), cos, sin, ve)
        return x + self.mlp(rms(x))


class RefNanochat(nn.Module):
    def __init__(self, cfg: RefConfig):
        super().__init__()
        self.cfg = cfg
        rows, d, hd = padded_vocab(cfg), cfg.n_embd, cfg.n_embd // cfg.n_head
        self.wte = nn.Embedding(rows, d)
        self.blocks = nn.ModuleList(Block(cfg, i, w) for i, w in enumerate(layer_windows(cfg)))
        self.lm_head = nn.Linear(d, rows, bias=False)
        if cfg.version == "head":
            self.value_embeds = nn.ModuleDict({
                str(i): nn.Embedding(rows, cfg.n_kv_head * hd)
                for i in range(cfg.n_layer) if has_value_embedding(cfg, i)
            })
            self.resid_lambdas = nn.Parameter(torch.ones(cfg.n_layer))
            self.x0_lambdas = nn.Parameter(torch.full((cfg.n_layer,), 0.1))
            self.smear_gate = nn.Linear(SMEAR_CHANNELS, 1, bias=False)
            self.smear_lambda = nn.Parameter(torch.tensor([0.5]))
            self.backout_lambda = nn.Parameter(torch.tensor([0.2]))
        base = 10_000 if cfg.version == "v0" else 100_000
        freqs = base ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        angles = torch.outer(torch.arange(cfg.seq_len, dtype=torch.float32), freqs)[None, :, None, :]
        self.register_buffer("cos", angles.cos(), persistent=False)  # buffers are not parameters
        self.register_buffer("sin", angles.sin(), persistent=False)

    # --- counts, from the module tree -----------------------------------------------------------

    def unique_param_count(self) -> int:
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())

    def groups(self) -> dict[str, int]:
        """Optimizer groups: Muon gets everything inside the blocks; AdamW the embeddings, the
        unembedding and the scalars."""
        count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
        embedding = count(self.wte)
        if self.cfg.version == "head":
            embedding += count(self.value_embeds)
        muon = count(self.blocks)
        unembedding = count(self.lm_head)
        return {"muon": muon, "embedding": embedding, "unembedding": unembedding,
                "scalar": self.unique_param_count() - muon - embedding - unembedding}

    def scaling_param_count(self) -> int:
        """v0 scales data with every parameter; head with the block matrices plus lm_head."""
        if self.cfg.version == "v0":
            return self.unique_param_count()
        return self.groups()["muon"] + self.groups()["unembedding"]

    def matmul_param_count(self) -> int:
        return sum(m.weight.numel() for m in self.modules() if isinstance(m, nn.Linear))

    def estimate_flops(self) -> int:
        """The version's estimate_flops convention, evaluated on this module tree."""
        cfg = self.cfg
        h, hd = cfg.n_head, cfg.n_embd // cfg.n_head
        if cfg.version == "v0":
            non_embedding = self.unique_param_count() - self.wte.weight.numel()
            return 6 * non_embedding + 12 * cfg.n_layer * h * hd * cfg.seq_len
        attention = sum(12 * h * hd * min(b.attn.window, cfg.seq_len) for b in self.blocks)
        return 6 * self.matmul_param_count() + attention

    # --- training forward ---------------------------------------------------------------------

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        cfg, steps = self.cfg, idx.shape[1]
        cos, sin = self.cos[:, :steps], self.sin[:, :steps]
        x = rms(self.wte(idx))
        if cfg.version == "v0":
            for block in self.blocks:
                x = block(x, cos, sin)
        else:
            if steps < 2:
                raise ValueError("the smear needs at least two positions")
            gate = self.smear_lambda * torch.sigmoid(self.smear_gate(x[:, 1:, :SMEAR_CHANNELS]))
            x = torch.cat((x[:, :1], x[:, 1:] + gate * x[:, :-1]), dim=1)
            x0, kept = x, None
            for i, block in enumerate(self.blocks):
                x = self.resid_lambdas[i] * x + self.x0_lambdas[i] * x0
                ve = self.value_embeds[str(i)](idx) if str(i) in self.value_embeds else None
                x = block(x, cos, sin, ve)
                if i == cfg.n_layer // 2:
                    kept = x
            x = x - self.backout_lambda * kept
        logits = self.lm_head(rms(x))[..., : cfg.vocab_size].float()
        logits = SOFTCAP * torch.tanh(logits / SOFTCAP)
        return F.cross_entropy(logits.reshape(-1, cfg.vocab_size), targets.reshape(-1))
