"""CUDA autocast's op policy, applied on the meta device (where no autocast runs).

A traced model runs on the meta device; the runs costmodel models are CUDA runs under
`torch.autocast("cuda", dtype=torch.bfloat16)`. CPU autocast has another policy (it keeps softmax,
log_softmax, layer_norm and rms_norm in the input's dtype), and the meta device has none, so the
trace applies CUDA's lists itself, as costmodel's validation does (tests/validation/memory_probe.py,
`CudaSemantics`), above autograd (inside a TorchFunctionMode), so that autograd records the casts
and saves the cast tensors exactly as under CUDA autocast.

The lists are ATen's, pytorch/pytorch v2.13.0 aten/src/ATen/autocast_mode.h (the header ships in
the torch wheel, torch/include/ATen/autocast_mode.h):

- AT_FORALL_LOWER_PRECISION_FP: run in the 16-bit dtype (every floating input cast; the casts of
  fp32 leaf tensors that require grad, the weights, cached until the autocast region ends:
  `cached_cast` in aten/src/ATen/autocast_mode.cpp);
- AT_FORALL_FP32: run in fp32 (inputs cast up);
- AT_FORALL_FP32_SET_OPT_DTYPE: run with dtype=float32 unless a dtype is given, when the first
  input is floating;
- AT_FORALL_PROMOTE: run in the widest floating dtype among the inputs;
- cross_entropy is in none of them: it is CompositeImplicit, and its log_softmax and nll_loss are
  on the fp32 lists, so it runs on the logits cast to fp32 (as CudaSemantics does).

Each ATen name is applied to the Python functions that reach it first: `torch.NAME`,
`torch.Tensor.NAME`, `torch.nn.functional.NAME`, `torch.linalg.NAME` and the operators (`@`, `**`);
`torch.norm` and `Tensor.norm` too, which call linalg_vector_norm (torch/functional.py). The policy
sees the functions the model calls, not what a Python-level function calls inside: F.normalize's
norm, for one, keeps its input's dtype here (fp32 under CUDA autocast).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

LOWER = ("_convolution", "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d",
         "conv_transpose3d", "convolution", "prelu", "addmm", "addmv", "addr", "matmul", "einsum", "mm", "mv",
         "linalg_vecdot", "linear", "addbmm", "baddbmm", "bmm", "chain_matmul", "linalg_multi_dot",
         "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "scaled_dot_product_attention")
FP32 = ("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal", "rsqrt",
        "sinh", "tan", "pow", "softplus", "layer_norm", "native_layer_norm", "rms_norm", "group_norm",
        "frobenius_norm", "nuclear_norm", "cosine_similarity", "poisson_nll_loss", "cosine_embedding_loss",
        "nll_loss", "hinge_embedding_loss", "kl_div", "l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss",
        "margin_ranking_loss", "multilabel_margin_loss", "soft_margin_loss", "triplet_margin_loss",
        "multi_margin_loss", "binary_cross_entropy_with_logits", "dist", "pdist", "cdist", "renorm",
        "logsumexp")
FP32_DTYPE = ("prod", "softmax", "log_softmax", "cumprod", "cumsum", "linalg_vector_norm", "linalg_matrix_norm",
              "sum")
PROMOTE = ("addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot", "grid_sampler", "index_put",
           "tensordot", "scatter_add")
OPERATORS = {"matmul": ("__matmul__", "__rmatmul__"), "pow": ("__pow__", "__rpow__")}


def _functions(names) -> frozenset:
    """The Python callables through which a model reaches the ATen ops `names`."""
    out = set()
    for name in names:
        short = name.removeprefix("linalg_")
        for owner, attr in ((torch, name), (torch.Tensor, name), (F, name), (torch.linalg, short)):
            f = getattr(owner, attr, None)
            if callable(f) and (owner is not torch.linalg or short != name):
                out.add(f)
        out.update(getattr(torch.Tensor, op) for op in OPERATORS.get(name, ()))
    return frozenset(out)


_LOWER, _FP32, _PROMOTE = (_functions(n) for n in (LOWER, FP32, PROMOTE))
_FP32_DTYPE = _functions(FP32_DTYPE) | {torch.norm, torch.Tensor.norm}


class Autocast:
    """The policy for one forward pass: `apply(func, args, kwargs)` gives the arguments as CUDA
    autocast passes them on. `copies` holds the storages of the cached weight casts (the 16-bit
    weight copies, which costmodel counts apart from the activations)."""

    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype
        self.cache: dict[int, torch.Tensor] = {}
        self.copies: set[int] = set()

    def _cast(self, t, dtype):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dtype in (dtype, torch.float64):
            return t
        if dtype == self.dtype and t.dtype == torch.float32 and t.is_leaf and t.requires_grad and not t._is_view():
            key = id(t)
            if key not in self.cache:
                self.cache[key] = cast = t.to(dtype)
                self.copies.add(cast.untyped_storage()._cdata)
            return self.cache[key]
        return t.to(dtype)

    def _all(self, args, kwargs, dtype):
        return (tuple(self._cast(a, dtype) for a in args), {k: self._cast(v, dtype) for k, v in kwargs.items()})

    def apply(self, func, args, kwargs):
        if func in _LOWER:
            return self._all(args, kwargs, self.dtype)
        if func in _FP32:  # rms_norm among them since v2.12 (pytorch/pytorch#174824)
            return self._all(args, kwargs, torch.float32)
        if func in _FP32_DTYPE:
            first = next((a for a in args if isinstance(a, torch.Tensor)), None)
            given = kwargs.get("dtype") is not None or any(isinstance(a, torch.dtype) for a in args)
            if first is not None and first.is_floating_point() and first.dtype != torch.float64 and not given:
                kwargs = {**kwargs, "dtype": torch.float32}
            return args, kwargs
        if func in _PROMOTE:
            floats = [a.dtype for a in (*args, *kwargs.values())
                      if isinstance(a, torch.Tensor) and a.is_floating_point() and a.dtype != torch.float64]
            if floats:
                widest = torch.float32 if torch.float32 in floats else floats[0]
                return self._all(args, kwargs, widest)
            return args, kwargs
        if func is F.cross_entropy and args:
            return (self._cast(args[0], torch.float32), *args[1:]), kwargs
        return args, kwargs
