"""Measuring memory on the CPU, independently of costmodel's formulas (for tests/validation).

Two tools:

- `CudaSemantics`: what `torch.autocast(device_type="cuda", dtype=...)` does, applied to CPU tensors.
  CPU autocast has a different policy from CUDA's (it runs softmax, log_softmax, layer_norm and
  rms_norm in the input dtype; CUDA runs them in fp32), and the runs costmodel models are CUDA runs.
  This mode applies CUDA's lists from ATen's autocast_mode.h (pytorch/pytorch v2.13.0,
  aten/src/ATen/autocast_mode.h, AT_FORALL_LOWER_PRECISION_FP / AT_FORALL_FP32 /
  AT_FORALL_FP32_SET_OPT_DTYPE) to the functions the reference models call, above autograd (a
  TorchFunctionMode), so the casts are recorded by autograd exactly as CUDA autocast's are; like
  autocast it caches the casts of leaf tensors that require grad (the weights) until it exits.
  It also gives CUDA's fused rms_norm (keeps a 16-bit input as it is), CUDA's fp32 LayerNorm
  statistics for 16-bit inputs, and CUDA's 1-byte dropout masks.
- `saved_activation_bytes`: the bytes of the unique storages saved for backward during a forward
  pass (torch.autograd.graph.saved_tensors_hooks), parameters and buffers excluded, deduplicated
  by storage.

(The peak of whole training steps is measured with torch.distributed._tools.mem_tracker.MemTracker
in test_memory_peak.py.)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

# ATen autocast_mode.h (v2.13.0): ops cast to the lower precision (the ones our models call)
_LOWER = {
    F.linear, torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
    torch.bmm, torch.Tensor.bmm, torch.mm, torch.Tensor.mm, torch.addmm, torch.baddbmm,
    F.scaled_dot_product_attention,
}
# ... ops run in fp32 (AT_FORALL_FP32); rms_norm only since v2.12 (pytorch/pytorch#174824)
_FP32 = {F.layer_norm, torch.layer_norm, F.group_norm, F.nll_loss}
_RMS_NORM = {F.rms_norm, torch.rms_norm}
# ... ops run in fp32 through their dtype argument (AT_FORALL_FP32_SET_OPT_DTYPE)
_FP32_DTYPE_ARG = {F.softmax, torch.softmax, torch.Tensor.softmax,
                   F.log_softmax, torch.log_softmax, torch.Tensor.log_softmax}


class _FusedRmsNorm(torch.autograd.Function):
    """CUDA's aten::_fused_rms_norm as autograd sees it: saves the input (in its dtype), the weight if
    any (a parameter) and the fp32 rstd (derivatives.yaml: _fused_rms_norm_backward(grad, input,
    normalized_shape, rstd, weight, ...)). The CPU build decomposes rms_norm instead and saves an
    fp32 upcast of a bf16 input."""

    @staticmethod
    def forward(ctx, x, weight, eps):
        x32 = x.float()
        rstd = torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
        ctx.save_for_backward(x, weight, rstd)
        y = x32 * rstd
        if weight is not None:
            y = y * weight.float()
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, weight, rstd = ctx.saved_tensors
        x_hat = x.float() * rstd
        g = grad.float()
        dw = None
        if weight is not None:
            dw = (g * x_hat).reshape(-1, x.shape[-1]).sum(0).to(weight.dtype)
            g = g * weight.float()
        dx = (g - x_hat * (g * x_hat).mean(-1, keepdim=True)) * rstd
        return dx.to(x.dtype), dw, None


def _rms_norm(x, normalized_shape, weight=None, eps=None):
    if len(normalized_shape) != 1:
        raise NotImplementedError("only rms_norm over the last dimension")
    return _FusedRmsNorm.apply(x, weight, torch.finfo(x.dtype).eps if eps is None else eps)


class _LayerNorm16(torch.autograd.Function):
    """CUDA's layer_norm on a 16-bit input keeps mean and rstd in fp32 (the accumulation type);
    the CPU kernel returns them in the input's dtype."""

    @staticmethod
    def forward(ctx, x, shape, weight, bias, eps):
        out, mean, rstd = torch.ops.aten.native_layer_norm(x, shape, weight, bias, eps)
        ctx.shape = shape
        ctx.save_for_backward(x, weight, bias, mean.float(), rstd.float())
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias, mean, rstd = ctx.saved_tensors
        mask = [True, weight is not None, bias is not None]
        dx, dw, db = torch.ops.aten.native_layer_norm_backward(
            grad, x, ctx.shape, mean.to(x.dtype), rstd.to(x.dtype), weight, bias, mask)
        return dx, None, dw, db, None


def _layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    if x.dtype in (torch.bfloat16, torch.float16):
        return _LayerNorm16.apply(x, list(normalized_shape), weight, bias, eps)
    return F.layer_norm(x, normalized_shape, weight, bias, eps)


def _native_dropout(x, p=0.5, training=True, inplace=False):
    """CUDA's dropout for 0 < p < 1: aten::native_dropout, which saves a bool mask (the CPU path
    saves a scaled noise tensor in the input dtype instead)."""
    if not training or p == 0.0:
        return x
    out, _ = torch.native_dropout(x, p, True)
    return out


class CudaSemantics(TorchFunctionMode):
    """What a CUDA run saves, on any device (see the module doc): autocast's policy when `dtype` is
    given (bf16 or fp16), and always CUDA's fused rms_norm, CUDA's fp32 layer_norm statistics and
    CUDA's 1-byte dropout mask. `rms_norm_fp32=False` is the policy of PyTorch before 2.12, whose
    autocast left rms_norm in its input's dtype (every nanochat release pinned torch 2.8-2.9)."""

    def __init__(self, dtype: torch.dtype | None = None, rms_norm_fp32: bool = True):
        super().__init__()
        self.dtype = dtype
        self.rms_norm_fp32 = rms_norm_fp32
        self.cache: dict[int, torch.Tensor] = {}

    def __exit__(self, *exc):
        self.cache.clear()  # autocast clears its weight cache on leaving the region
        return super().__exit__(*exc)

    def _cast(self, t, dtype):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dtype in (dtype, torch.float64):
            return t
        if t.is_leaf and t.requires_grad:  # autocast's cached_cast: weights are cast once
            key = id(t)
            if key not in self.cache:
                self.cache[key] = t.to(dtype)
            return self.cache[key]
        return t.to(dtype)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.dtype is not None:
            if func in _LOWER:
                args = tuple(self._cast(a, self.dtype) for a in args)
                kwargs = {k: self._cast(v, self.dtype) for k, v in kwargs.items()}
            elif func in _FP32 or (self.rms_norm_fp32 and func in _RMS_NORM):
                args = tuple(self._cast(a, torch.float32) for a in args)
                kwargs = {k: self._cast(v, torch.float32) for k, v in kwargs.items()}
            elif func in _FP32_DTYPE_ARG and kwargs.get("dtype") is None and args[0].dtype != torch.float64:
                kwargs = {**kwargs, "dtype": torch.float32}
            elif func is F.cross_entropy:
                # not in CUDA's lists: CompositeImplicit, its log_softmax runs with dtype=float32
                args = (self._cast(args[0], torch.float32), *args[1:])
        if func in (F.rms_norm, torch.rms_norm):
            return _rms_norm(*args, **kwargs)
        if func is F.layer_norm:
            return _layer_norm(*args, **kwargs)
        if func is F.dropout:
            return _native_dropout(*args, **kwargs)
        return func(*args, **kwargs)


def _storage_key(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


def saved_activation_bytes(model: torch.nn.Module, run: Callable[[], object]) -> dict:
    """Unique storages saved for backward while `run()` executes the forward pass.

    `run()` returns the loss, or (loss, held) where `held` are tensors the training loop keeps
    referenced (nanoGPT's logits): their storages are counted too. Parameters and buffers of
    `model` are left out. Returns {"total": bytes, "by_dtype": {dtype: bytes}, "count": n}.
    """
    excluded = {_storage_key(p) for p in model.parameters()} | {_storage_key(b) for b in model.buffers()}
    seen: dict[int, torch.Tensor] = {}

    def keep(t):
        key = _storage_key(t)
        if key not in excluded and key not in seen:
            seen[key] = t
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        out = run()
    loss, held = out if isinstance(out, tuple) else (out, ())
    for t in held:
        keep(t)
    by_dtype: dict[str, int] = {}
    for t in seen.values():
        n = t.untyped_storage().nbytes()
        by_dtype[str(t.dtype)] = by_dtype.get(str(t.dtype), 0) + n
    del loss, held
    return {"total": sum(by_dtype.values()), "by_dtype": by_dtype, "count": len(seen)}
