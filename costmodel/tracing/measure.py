"""One shape of the user's model, measured on the meta device: no weights, no data, no GPU.

`measure(build, T, B)` builds the model (`build()` runs the user's factory) under
`torch.device("meta")`, runs one training forward and backward on a micro-batch of B sequences of
T token ids, and returns a `Measurement`:

- the unique trainable parameters, by group and by dtype (a tied tensor counted once);
- the FLOPs of the step as torch.utils.flop_counter.FlopCounterMode counts them (matmuls only; `_Flops`);
- the bytes saved for backward (torch.autograd.graph.saved_tensors_hooks), unique storages,
  parameters and buffers excluded, split into the loss's (saved inside F.cross_entropy) and the rest;
- what the model is made of, as seen from the torch functions it calls (`Observed`).

`saved_under(build, T, B, precision)` runs one more training forward and counts what it saves
under amp-bf16 (CUDA autocast's policy, tracing.autocast; the 16-bit weight copies apart) or with
the model cast to bf16.

F.rms_norm runs as CUDA's fused kernel (`_FusedRmsNorm`): it saves the input and an fp32 rstd;
F.layer_norm as one kernel too (`_FusedLayerNorm`: the input, mean and rstd).
Attention through F.scaled_dot_product_attention is run as a flash kernel (`_Flash`): it saves
q, k, v, the output and an fp32 logsumexp per query and head, as the fused kernels do, and counts
4 B H Tq Tk hd FLOPs forward and 10 backward (the scores recomputed, then dA, dV, dQ, dK), torch's
own sdpa_flop_count / sdpa_backward_flop_count (pytorch/pytorch v2.13.0,
torch/utils/flop_counter.py) with H the query heads. Attention written out (q @ k^T, softmax,
@ v) is counted and saved as it runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import attrs
import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from costmodel.tracing.autocast import Autocast

GROUPS = ("matrices", "embeddings", "lm_head", "positions", "vectors")
ACTIVATIONS = {F.gelu: "gelu", F.silu: "silu", F.relu: "relu", torch.relu: "relu", torch.sigmoid: "sigmoid"}
NORMS = {F.layer_norm: "layernorm", torch.layer_norm: "layernorm", F.rms_norm: "rmsnorm",
         torch.rms_norm: "rmsnorm"}


@attrs.frozen(kw_only=True)
class Observed:
    """What the forward pass showed of the architecture (None: not seen)."""

    n_blocks: int
    d_model: int | None
    vocab_rows: int | None
    n_head: int | None
    n_kv_head: int | None
    head_dim: int | None
    d_ff: int | None
    activation: str | None
    gated: bool
    norm: str | None
    norm_weight: bool
    norm_bias: bool
    attention: str | None  # flash (SDPA) or eager (softmax written out)
    positions: str  # learned (a second embedding table) or rotary (none)
    tied_embeddings: bool
    qkv_fused: bool
    qkv_bias: bool
    proj_bias: bool
    causal_mask_buffer: bool


@attrs.frozen(kw_only=True)
class Measurement:
    params: dict[str, int]  # by group (GROUPS)
    params_by_dtype: dict[str, int]
    flops: int  # forward + backward of the whole micro-batch
    saved: int  # bytes saved for backward outside the loss
    saved_loss: int  # bytes saved inside the loss (the logit-sized tensors)
    observed: Observed


class _Flash(torch.autograd.Function):
    """SDPA as a fused flash kernel: saves q, k, v, out and an fp32 logsumexp; the FLOPs are added
    to the counter by hand (the meta device runs no kernel)."""

    @staticmethod
    def forward(ctx, q, k, v, counter):
        if q.dim() == 4:  # the kernels write (B, T, H, hd) and return it as (B, H, T, hd)
            out = q.new_empty(q.shape[0], q.shape[2], q.shape[1], v.shape[-1]).transpose(1, 2)
        else:
            out = q.new_empty(q.shape[:-1] + v.shape[-1:])
        lse = q.new_empty(q.shape[:-1], dtype=torch.float32)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.counter = counter
        counter.flops += 4 * q.shape[:-1].numel() * k.shape[-2] * q.shape[-1]
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, _, _ = ctx.saved_tensors
        ctx.counter.flops += 10 * q.shape[:-1].numel() * k.shape[-2] * q.shape[-1]
        return torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v), None


class _FusedRmsNorm(torch.autograd.Function):
    """rms_norm as CUDA runs it, one fused kernel (aten::_fused_rms_norm; pytorch/pytorch v2.13.0
    tools/autograd/derivatives.yaml: its backward reads the input, the rstd and the weight): saves
    the input and an fp32 rstd per row. The CPU and meta builds decompose rms_norm into elementwise
    steps and save more; the runs costmodel models are CUDA runs, as its validation measures them."""

    @staticmethod
    def forward(ctx, x, weight, dims):
        rstd = x.new_empty(x.shape[:x.dim() - dims] + (1,) * dims, dtype=torch.float32)
        ctx.save_for_backward(x, weight, rstd)
        return x.new_empty(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x, weight, _ = ctx.saved_tensors
        return torch.zeros_like(x), None if weight is None else torch.zeros_like(weight), None


class _FusedLayerNorm(torch.autograd.Function):
    """layer_norm as one kernel (aten::native_layer_norm; derivatives.yaml: its backward reads the
    input, mean, rstd, weight and bias): saves the input and a mean and rstd per row, in fp32 for a
    16-bit input (the accumulation type) as CUDA keeps them. The same bytes as the meta build's,
    without running its Python decomposition of the backward (a sixth of a trace's time)."""

    @staticmethod
    def forward(ctx, x, weight, bias, dims):
        stats = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        mean = x.new_empty(x.shape[:x.dim() - dims] + (1,) * dims, dtype=stats)
        rstd = x.new_empty(mean.shape, dtype=stats)
        ctx.save_for_backward(x, weight, bias, mean, rstd)
        return x.new_empty(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias, _, _ = ctx.saved_tensors
        return (torch.zeros_like(x), None if weight is None else torch.zeros_like(weight),
                None if bias is None else torch.zeros_like(bias), None)


class _Flops(TorchDispatchMode):
    """FLOPs as torch.utils.flop_counter.FlopCounterMode counts them: its own formulas
    (`flop_registry`: mm, addmm, bmm, baddbmm, convolutions, the SDPA kernels), applied to every ATen
    op that runs, an op without a formula decomposed first when it can be, as FlopCounterMode does
    (pytorch/pytorch v2.13.0 torch/utils/flop_counter.py, _FlopCounterMode.__torch_dispatch__);
    without its per-module bookkeeping, which costs a tenth of a trace."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        formula = flop_registry.get(func._overloadpacket)
        if formula is None:
            if func is not torch.ops.prim.device.default:
                with self:
                    out = func.decompose(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            return func(*args, **kwargs)
        out = func(*args, **kwargs)
        self.flops += formula(*args, **kwargs, out_val=out)
        return out


class _Watch(TorchFunctionMode):
    """Sees every torch function the model calls: records the architecture, runs SDPA as flash,
    and marks the loss (so that what it saves is counted apart)."""

    def __init__(self, autocast: Autocast | None = None):
        super().__init__()
        self.autocast = autocast
        self.flops = 0
        self.calls: Counter = Counter()
        self.in_loss = 0
        self.sdpa: tuple | None = None
        self.scores: tuple | None = None
        self.activation: tuple | None = None
        self.gate_mul = False
        self.norms: list[tuple] = []
        self.v: torch.Tensor | None = None  # attention's values (kept: their storage is compared later)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.calls[func] += 1
        if self.autocast is not None:
            args, kwargs = self.autocast.apply(func, args, kwargs)
        if func is F.dropout and _cuda_dropout(args, kwargs):
            return torch.native_dropout(args[0], _arg(args, kwargs, 1, "p", 0.5), True)[0]
        if func is F.scaled_dot_product_attention:
            q, k, v = args[:3]
            _check_heads(q, k, v, kwargs.get("enable_gqa", False))
            self.sdpa = (tuple(q.shape), tuple(k.shape))
            if self.v is None:
                self.v = v
            return _Flash.apply(q, k, v, self)
        if (func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__) and self.scores is not None
                and self.v is None and len(args) == 2 and args[1].dim() == 4):
            self.v = args[1]  # eager: the first matmul after the softmax is A @ V
        if func in ACTIVATIONS and self.activation is None and args:
            self.activation = (ACTIVATIONS[func], tuple(args[0].shape))
        if func in NORMS:
            self.norms.append((NORMS[func], args, kwargs))
            weight = args[2] if len(args) > 2 else kwargs.get("weight")
            shape = args[1] if len(args) > 1 else kwargs["normalized_shape"]
            if NORMS[func] == "rmsnorm":
                return _FusedRmsNorm.apply(args[0], weight, len(shape))
            return _FusedLayerNorm.apply(args[0], weight, args[3] if len(args) > 3 else kwargs.get("bias"),
                                         len(shape))
        if func in (F.softmax, torch.softmax, torch.Tensor.softmax) and args and args[0].dim() == 4:
            self.scores = tuple(args[0].shape)
        if func in (torch.mul, torch.Tensor.mul, torch.Tensor.__mul__) and self.activation and len(args) == 2:
            a, b = args
            if all(isinstance(t, torch.Tensor) and t.shape[-1:] == self.activation[1][-1:] for t in (a, b)):
                self.gate_mul = True
        if func is F.cross_entropy:
            self.in_loss += 1
            try:
                return func(*args, **kwargs)
            finally:
                self.in_loss -= 1
        return func(*args, **kwargs)


def _arg(args, kwargs, i: int, name: str, default):
    return args[i] if len(args) > i else kwargs.get(name, default)


def _cuda_dropout(args, kwargs) -> bool:
    """CUDA runs F.dropout(x, p, training) with 0 < p < 1 as one kernel, aten::native_dropout, which
    saves a 1-byte mask (aten/src/ATen/native/Dropout.cpp, v2.13.0: is_fused_kernel_acceptable); the
    CPU and meta builds multiply by a noise tensor of the input's size and dtype instead. In-place
    dropout takes the noise path on CUDA too."""
    p = _arg(args, kwargs, 1, "p", 0.5)
    return (bool(args) and isinstance(p, (int, float)) and 0 < p < 1 and _arg(args, kwargs, 2, "training", True)
            and not _arg(args, kwargs, 3, "inplace", False))


def _check_heads(q, k, v, gqa: bool) -> None:
    """The shape rules SDPA's kernels enforce (the meta device runs none of them): one head size for
    q and k, K and V alike, and as many query heads as K/V heads, or a whole multiple with
    enable_gqa (torch/nn/functional.py scaled_dot_product_attention, v2.13.0)."""
    if q.dim() != 4:
        return
    heads, kv_heads = q.shape[1], k.shape[1]
    if q.shape[-1] != k.shape[-1] or k.shape[:-1] != v.shape[:-1]:
        raise RuntimeError(f"scaled_dot_product_attention: q {tuple(q.shape)}, k {tuple(k.shape)}, "
                           f"v {tuple(v.shape)} do not fit together")
    if kv_heads != heads and not (gqa and heads % kv_heads == 0):
        raise RuntimeError(f"scaled_dot_product_attention: {heads} query heads and {kv_heads} key/value "
                           "heads" + (" (not a whole multiple)" if gqa else " (enable_gqa not set)"))


def _blocks(model: nn.Module) -> nn.ModuleList | None:
    """The repeated blocks: the longest ModuleList/Sequential of modules of one class."""
    best = None
    for m in model.modules():
        if isinstance(m, (nn.ModuleList, nn.Sequential)) and len(m) and len({type(c) for c in m}) == 1:
            if best is None or len(m) > len(best):
                best = m
    return best


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


def _built(build: Callable[[], nn.Module], seq: int, batch: int):
    """The model, built on the meta device (inside the caller's `torch.device("meta")`), in
    training mode; its token embedding (the largest table); a batch of ids and targets."""
    model = build()
    if not isinstance(model, nn.Module):
        raise TypeError(f"the factory returned {type(model).__name__}, not a torch.nn.Module")
    model.train()
    embeddings = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    if not embeddings:
        raise TypeError("the model has no nn.Embedding: trace needs a token embedding")
    token = max(embeddings, key=lambda m: m.num_embeddings)  # the vocabulary is the largest table
    vocab = token.num_embeddings
    return model, token, torch.randint(0, vocab, (batch, seq)), torch.randint(0, vocab, (batch, seq))


class _Saved:
    """Unique storages saved for backward (a saved-tensor hook), each once, marked when saved
    inside the loss; what the fixed tensors (parameters, buffers) and the weight copies hold is
    told apart at the end."""

    def __init__(self, watch: _Watch):
        self.watch = watch
        self.seen: dict[int, tuple[int, bool]] = {}

    def pack(self, t: torch.Tensor):
        key = _storage(t)
        if key not in self.seen:
            self.seen[key] = (t.untyped_storage().nbytes(), self.watch.in_loss > 0)
        return t

    def hooks(self):
        return torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t)

    def split(self, model: nn.Module, copies=frozenset()) -> tuple[int, int, int]:
        """(bytes outside the loss, inside the loss, of weight copies)."""
        fixed = {_storage(p) for p in model.parameters()} | {_storage(b) for b in model.buffers()}
        out = [0, 0, 0]
        for key, (n, in_loss) in self.seen.items():
            if key not in fixed:
                out[2 if key in copies else int(in_loss)] += n
        return out[0], out[1], out[2]


def measure(build: Callable[[], nn.Module], seq: int, batch: int) -> Measurement:
    """Build the model on the meta device and run one fp32 training step of `batch` x `seq` tokens."""
    with torch.device("meta"):
        model, token, idx, targets = _built(build, seq, batch)
        watch = _Watch()
        saved = _Saved(watch)
        blocks = _blocks(model)
        first = blocks[0] if blocks is not None else model
        linear_io: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

        def seen(module, inputs, output) -> None:  # a hook returning None leaves the output alone
            # the tensors themselves, kept alive to the end: a freed storage's address is reused
            linear_io.setdefault(module, (inputs[0], output))

        hooks = [m.register_forward_hook(seen) for m in first.modules() if isinstance(m, nn.Linear)]
        counter = _Flops()
        with counter, watch, saved.hooks():
            out = model(idx, targets)
            loss = _loss(out, targets, watch)
            loss.backward()
        for h in hooks:
            h.remove()
    outside, in_loss, _ = saved.split(model)
    return Measurement(
        params=_groups(model, token),
        params_by_dtype=_by_dtype(model),
        flops=counter.flops + watch.flops,
        saved=outside,
        saved_loss=in_loss,
        observed=_observe(model, token, watch, seq, linear_io),
    )


def saved_under(build: Callable[[], nn.Module], seq: int, batch: int, precision: str) -> tuple[int, int, int]:
    """The bytes one training forward saves for backward under `precision`: "amp-bf16" (fp32
    weights, CUDA autocast's policy in bf16, tracing.autocast) or "bf16" (the model cast to bf16, no
    autocast). Returns (outside the loss, inside the loss, 16-bit weight copies). A forward pass is
    enough: autograd saves every tensor while the forward runs."""
    with torch.device("meta"):
        model, _, idx, targets = _built(build, seq, batch)
        autocast = Autocast(torch.bfloat16) if precision == "amp-bf16" else None
        if precision == "bf16":
            model.to(torch.bfloat16)
        watch = _Watch(autocast)
        saved = _Saved(watch)
        with watch, saved.hooks():
            loss = _loss(model(idx, targets), targets, watch)
        result = saved.split(model, autocast.copies if autocast else frozenset())
        del loss
    return result


def _loss(out, targets: torch.Tensor, watch: _Watch) -> torch.Tensor:
    """The model returns the loss, (logits, loss), or logits (then the mean cross-entropy)."""
    if isinstance(out, (tuple, list)):
        scalars = [o for o in out if isinstance(o, torch.Tensor) and o.dim() == 0]
        if scalars:
            return scalars[0]
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"model(idx, targets) returned {type(out).__name__}: expected the loss or the logits")
    if out.dim() == 0:
        return out
    with watch:
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))


def _unique(model: nn.Module):
    seen = {}
    for name, p in model.named_parameters():  # a tied tensor is yielded once, under its first name
        if p.requires_grad:
            seen[id(p)] = (name, p)
    return seen.values()


def _groups(model: nn.Module, token: nn.Embedding) -> dict[str, int]:
    blocks = _blocks(model)
    in_blocks = {id(p) for p in blocks.parameters()} if blocks is not None else set()
    tables = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    linears = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
    counts = dict.fromkeys(GROUPS, 0)
    for _, p in _unique(model):
        if p is token.weight:
            group = "embeddings"
        elif id(p) in tables:
            group = "positions" if p.shape[0] != token.num_embeddings else "embeddings"
        elif id(p) in linears and id(p) not in in_blocks and p.shape[0] == token.num_embeddings:
            group = "lm_head"
        elif p.dim() >= 2:
            group = "matrices"
        else:
            group = "vectors"
        counts[group] += p.numel()
    return counts


def _by_dtype(model: nn.Module) -> dict[str, int]:
    counts: Counter = Counter()
    for _, p in _unique(model):
        counts[str(p.dtype).removeprefix("torch.")] += p.numel()
    return dict(counts)


def _observe(model: nn.Module, token: nn.Embedding, watch: _Watch, seq: int, linear_io: dict) -> Observed:
    blocks = _blocks(model)
    first = blocks[0] if blocks is not None else model
    d = token.embedding_dim
    n_head = n_kv = head_dim = None
    attention = None
    if watch.sdpa is not None:
        (_, n_head, _, head_dim), (_, n_kv, _, _) = watch.sdpa[0], watch.sdpa[1]
        attention = "flash"
    elif watch.scores is not None:
        n_head, n_kv, head_dim, attention = watch.scores[1], watch.scores[1], None, "eager"
        if n_head and d % n_head == 0:
            head_dim = d // n_head
    kv_width = n_kv * head_dim if n_kv and head_dim else None
    # the Linear that made the values, and its siblings reading the same input: the qkv projections
    io = {m: (_storage(i), _storage(o)) for m, (i, o) in linear_io.items()}
    v_storage = _storage(watch.v) if watch.v is not None else None
    v_linear = next((m for m, (_, out) in io.items() if out == v_storage), None)
    qkv = [m for m, (inp, _) in io.items() if v_linear is not None and inp == io[v_linear][0]]
    fused = v_linear is not None and kv_width is not None and v_linear.out_features > kv_width
    norm_weight = norm_bias = False
    for kind, args, kwargs in watch.norms:  # F.layer_norm(x, shape, weight, bias), F.rms_norm(x, shape, weight)
        norm_weight |= (args[2] if len(args) > 2 else kwargs.get("weight")) is not None
        if kind == "layernorm":
            norm_bias |= (args[3] if len(args) > 3 else kwargs.get("bias")) is not None
    d_ff = watch.activation[1][-1] if watch.activation else None
    tables = [m for m in model.modules() if isinstance(m, nn.Embedding) and m is not token]
    masks = [b for b in first.buffers() if b.dim() == 2 and b.shape[0] == b.shape[1] and b.shape[0] >= seq]
    return Observed(
        n_blocks=len(blocks) if blocks is not None else 1,
        d_model=d,
        vocab_rows=token.num_embeddings,
        n_head=n_head,
        n_kv_head=n_kv,
        head_dim=head_dim,
        d_ff=d_ff,
        activation=watch.activation[0] if watch.activation else None,
        gated=watch.gate_mul,
        norm=watch.norms[0][0] if watch.norms else None,
        norm_weight=norm_weight,
        norm_bias=norm_bias,
        attention=attention,
        positions="learned" if tables else "rotary",
        tied_embeddings=any(m.weight is token.weight for m in model.modules() if isinstance(m, nn.Linear)),
        qkv_fused=fused,
        qkv_bias=any(m.bias is not None for m in qkv),
        proj_bias=any(m.bias is not None for m in linear_io if m not in qkv),
        causal_mask_buffer=bool(masks),
    )


def step_peak(build: Callable[[], nn.Module], seq: int, batch: int) -> dict[str, int]:
    """The peak bytes of an eager fp32 training step with AdamW, by kind, as
    torch.distributed._tools.mem_tracker.MemTracker tracks it (second step, after the optimizer
    states exist): parameters, gradients, optimizer states, activations, temporaries, total."""
    from torch.distributed._tools.mem_tracker import MemTracker

    with torch.device("meta"):
        model = build()
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), foreach=False)
        vocab = max(m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding))
        idx, targets = torch.randint(0, vocab, (batch, seq)), torch.randint(0, vocab, (batch, seq))
        tracker = MemTracker()
        tracker.track_external(model, optimizer)
        with tracker, _Watch() as watch:
            for step in range(2):
                _loss(model(idx, targets), targets, watch).backward()
                optimizer.step()
                optimizer.zero_grad()
                if step == 0:
                    tracker.reset_mod_stats()
        peak = tracker.get_tracker_snapshot("peak")
    meta = peak.get(torch.device("meta"), {})
    return {str(getattr(k, "value", k)).lower(): int(v) for k, v in meta.items()}
