"""The reference models set up as the upstream training scripts run them, for the memory tests.

ref_nanogpt.RefGPT and ref_nanochat.RefNanochat have the upstream shapes but are fp32 CPU models.
Here each gets the dtypes and habits of its upstream code, without editing those files:

- nanoGPT (train.py L299-L305): the forward runs under autocast (emulated with CUDA's policy,
  memory_probe.CudaSemantics) and the loop keeps the logits the model returns: we hold lm_head's
  output through a forward hook. "bf16" casts the whole model (not an upstream mode, the generic
  recipe).
- nanochat v0 (gpt.py@fae3aca): wte and the rotary tables in bf16 (L173, L213), autocast bf16, and
  the softcap applied before .float() (L282-L285) — `V0` below overrides the forward for that order.
  `rms_norm_fp32` chooses autocast's policy for rms_norm: False is that of the torch nanochat pins
  (2.8.0 in uv.lock@fae3aca; fp32 only since torch 2.12), True today's.
- nanochat head (gpt.py@92d63d4): no autocast; wte and value embeddings in bf16 (L262-L268), every
  Linear casts its weight to the input's dtype in forward (L45-L50), scalar lambdas cast to the
  activations' dtype before multiplying (L479, L507).

`costmodel_values` gives the inputs under which costmodel describes the same run.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

import ref_nanochat as RN
from memory_probe import CudaSemantics
from ref_modded import RefModded
from ref_nanogpt import RefConfig, RefGPT

AUTOCAST_DTYPE = {"amp-bf16": torch.bfloat16, "amp-fp16": torch.float16, "bf16": None, "fp32": None}


@dataclass
class Run:
    """A model, its batch, and a `micro_step()` that returns (loss, held tensors)."""

    model: nn.Module
    idx: torch.Tensor
    targets: torch.Tensor
    precision: str
    pending: list = field(default_factory=list)
    rms_norm_fp32: bool = True  # autocast's policy for rms_norm (fp32 since torch 2.12)

    def forward(self):
        """One training forward under the run's CUDA semantics; returns (loss, held): the caller
        keeps `held` referenced as the upstream loop keeps its logits."""
        self.pending = held = []
        with self.semantics():
            loss = self.model(self.idx, self.targets)
        self.pending = []
        return loss, held

    def semantics(self) -> CudaSemantics:
        return CudaSemantics(AUTOCAST_DTYPE[self.precision], rms_norm_fp32=self.rms_norm_fp32)

    def new_batch(self):
        """A fresh batch, as the loop fetches one per micro-step."""
        vocab, shape = self.model.cfg.vocab_size, tuple(self.idx.shape)
        self.idx, self.targets = torch.randint(vocab, shape), torch.randint(vocab, shape)


def nanogpt_run(n_layer, n_head, n_embd, vocab_size, seq_len, micro_batch, *, bias=False,
                attention="flash", precision="amp-bf16", dropout=0.0, seed=0) -> Run:
    torch.manual_seed(seed)
    cfg = RefConfig(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                    block_size=seq_len, bias=bias, attention=attention, dropout=dropout)
    model = RefGPT(cfg)
    if precision == "bf16":
        model.to(torch.bfloat16)
    run = Run(model, torch.randint(vocab_size, (micro_batch, seq_len)),
              torch.randint(vocab_size, (micro_batch, seq_len)), precision)
    # train.py: `logits, loss = model(X, Y)` keeps the logits alive
    model.lm_head.register_forward_hook(lambda mod, args, out: run.pending.append(out))
    return run


def nanogpt_values(n_layer, n_head, n_embd, vocab_size, seq_len, micro_batch, *, bias=False,
                   attention="flash", precision="amp-bf16", dropout=0.0, grad_accum=2) -> dict:
    return {
        "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "vocab_size": vocab_size,
        "seq_len": seq_len, "micro_batch": micro_batch, "bias": bias, "attention": attention,
        "precision": precision, "dropout": dropout, "compile": False, "n_gpus": 1,
        "gradient_accumulation_steps": grad_accum, "grad_accum": grad_accum,
    }


class V0(RN.RefNanochat):
    """v0's order of the softcap: in the compute dtype, then .float() (gpt.py@fae3aca L282-L285)."""

    def forward(self, idx, targets):
        steps = idx.shape[1]
        cos, sin = self.cos[:, :steps], self.sin[:, :steps]
        x = RN.rms(self.wte(idx))
        for block in self.blocks:
            x = block(x, cos, sin)
        logits = self.lm_head(RN.rms(x))
        logits = (RN.SOFTCAP * torch.tanh(logits / RN.SOFTCAP)).float()
        return F.cross_entropy(logits.reshape(-1, self.cfg.vocab_size), targets.reshape(-1))


def modded_run(n_layer, n_head, n_embd, vocab_size, seq_len, micro_batch, seed=0) -> Run:
    """modded-nanogpt@e5b254f's GPT under CUDA bf16 autocast; its loop keeps no logits."""
    torch.manual_seed(seed)
    model = RefModded(n_layer, n_head, n_embd, vocab_size)
    return Run(model, torch.randint(vocab_size, (micro_batch, seq_len)),
               torch.randint(vocab_size, (micro_batch, seq_len)), "amp-bf16")


def modded_values(n_layer, n_head, n_embd, vocab_size, seq_len, micro_batch) -> dict:
    """The same model as costmodel's nanogpt family with modded-nanogpt's features."""
    return {**nanogpt_values(n_layer, n_head, n_embd, vocab_size, seq_len, micro_batch), "positions": "rotary",
            "norm": "rmsnorm", "norm_weight": False, "mlp": "relu2", "logits_fp32": True, "logits_held": False}


def _cast_in_forward(self, x):
    return F.linear(x, self.weight.to(x.dtype))


def nanochat_run(version, depth, *, aspect_ratio, head_dim, vocab_size, seq_len, micro_batch,
                 attention="flash", precision="amp-bf16", rms_norm_fp32=False, seed=0) -> Run:
    torch.manual_seed(seed)
    cfg = RN.config_from_depth(version, depth, aspect_ratio=aspect_ratio, head_dim=head_dim,
                               vocab_size=vocab_size, seq_len=seq_len, window_pattern="L",
                               attention=attention)
    model = (V0 if version == "v0" else RN.RefNanochat)(cfg)
    if precision == "bf16":
        model.to(torch.bfloat16)
    elif precision == "amp-bf16":
        model.cos, model.sin = model.cos.bfloat16(), model.sin.bfloat16()
        model.wte.to(torch.bfloat16)
        if version == "head":
            for table in model.value_embeds.values():
                table.to(torch.bfloat16)
            for module in model.modules():
                if isinstance(module, nn.Linear):
                    module.forward = types.MethodType(_cast_in_forward, module)
            with torch.no_grad():  # upstream casts them per use; same tensors for autograd
                model.smear_lambda.data = model.smear_lambda.data.bfloat16()
                model.backout_lambda.data = model.backout_lambda.data.bfloat16()
    elif precision != "fp32":
        raise ValueError(f"no nanochat setup for precision {precision}")
    # head runs without autocast: CudaSemantics(None) still gives CUDA's fused rms_norm
    run_precision = precision if version == "v0" else ("bf16" if precision != "fp32" else "fp32")
    return Run(model, torch.randint(vocab_size, (micro_batch, seq_len)),
               torch.randint(vocab_size, (micro_batch, seq_len)), run_precision, rms_norm_fp32=rms_norm_fp32)


def nanochat_values(version, depth, *, aspect_ratio, head_dim, vocab_size, seq_len, micro_batch,
                    attention="flash", precision="amp-bf16", rms_norm_fp32=False, grad_accum=2) -> dict:
    return {
        "version": version, "depth": depth, "aspect_ratio": aspect_ratio, "target_head_dim": head_dim,
        "vocab_size": vocab_size, "seq_len": seq_len, "micro_batch": micro_batch, "attention": attention,
        "precision": precision, "compile": False, "n_gpus": 1, "window_pattern": "L",
        "total_batch_size": micro_batch * seq_len * grad_accum, "autocast_rms_norm_fp32": rms_norm_fp32,
    }


# --- optimizers as the upstream scripts build them (our own code, same tensors) -------------------


def _orthogonalise(g: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """A quintic Newton-Schulz iteration in bf16 (Jordan et al. 2024): the temporaries that matter
    for memory are the bf16 iterate X, the Gram matrix A, B and the next X."""
    x = g.bfloat16()
    tall = x.size(-2) > x.size(-1)
    if tall:
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        a = x @ x.mT
        b = -4.775 * a + 2.0315 * (a @ a)
        x = 3.4445 * x + b @ x
    return x.mT if tall else x


class MuonPerMatrix(torch.optim.Optimizer):
    """Muon as nanochat v0 runs it on one GPU (nanochat/muon.py@fae3aca L60-L83): a momentum buffer
    per matrix, Nesterov, then the bf16 orthogonalisation one matrix at a time."""

    def __init__(self, params, lr=0.02, momentum=0.95):
        super().__init__(list(params), dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.lerp_(p.grad, 1 - group["momentum"])
                g = p.grad.lerp_(buf, group["momentum"])
                p.add_(_orthogonalise(g), alpha=-group["lr"])  # bf16 added into fp32 in place


class MuonStacked(torch.optim.Optimizer):
    """The memory behaviour of nanochat head's MuonAdamW on one GPU (nanochat/optim.py@92d63d4
    L295-L459): phase 1 stacks the gradients of every same-shape group, phase 2 stacks each group's
    parameters and updates the stack (momentum and a factored second moment as state), phase 3
    copies the stacks back. Only the Muon groups; AdamW runs as a separate fused optimizer."""

    def __init__(self, params, lr=0.02, momentum=0.95):
        params = list(params)
        groups = [dict(params=[p for p in params if p.shape == s]) for s in sorted({p.shape for p in params})]
        super().__init__(groups, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self):
        stacked_grads = [torch.stack([p.grad for p in g["params"]]) for g in self.param_groups]
        pending = []
        for group, grads in zip(self.param_groups, stacked_grads):
            first = group["params"][0]
            state = self.state[first]
            if "momentum_buffer" not in state:
                rows, cols = first.shape[-2:]
                state["momentum_buffer"] = torch.zeros_like(grads)
                shape = (len(group["params"]), rows, 1) if rows >= cols else (len(group["params"]), 1, cols)
                state["second_momentum_buffer"] = torch.zeros(shape, dtype=first.dtype)
            stacked = torch.stack(group["params"])
            state["momentum_buffer"].lerp_(grads, 1 - group["momentum"])
            g = grads.lerp_(state["momentum_buffer"], group["momentum"])
            stacked.sub_(_orthogonalise(g).to(stacked.dtype), alpha=group["lr"])  # optim.py L156 casts back
            pending.append((group["params"], stacked))
        for params, stacked in pending:
            torch._foreach_copy_(params, list(stacked.unbind(0)))


class Optimizers:
    """Several optimizers stepped together (nanochat v0 steps AdamW and Muon in turn)."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    def step(self):
        for opt in self.optimizers:
            opt.step()

    def zero_grad(self, set_to_none=True):
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)


def nanochat_optimizer(run: Run, version: str, optimizer: str):
    """AdamW for everything, or Muon for the blocks and AdamW (fused) for the rest."""
    model = run.model
    if optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    matrices = list(model.blocks.parameters())
    ids = {id(p) for p in matrices}
    others = [p for p in model.parameters() if id(p) not in ids]
    muon = MuonPerMatrix(matrices) if version == "v0" else MuonStacked(matrices)
    return Optimizers(torch.optim.AdamW(others, lr=1e-3, fused=True), muon)
