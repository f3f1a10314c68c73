"""Logits and loss: the (micro_batch, seq_len, vocab) tensors that dominate small models.

Eager (compile off), per token, with V the vocabulary:
- nanoGPT (model.py L186-L187, train.py L300): lm_head writes the logits in the compute dtype
  (a V), train.py keeps them referenced (`logits, loss = model(X, Y)`) until the next micro-step's
  forward returns; cross_entropy runs log_softmax in fp32 under autocast (log_softmax is on CUDA
  autocast's fp32 list) and saves its fp32 output (4 V).
- nanochat v0 (gpt.py L282-L285): the softcap's tanh saves its 16-bit output (a V), then .float()
  and the fp32 log-softmax (4 V). head (gpt.py L512-L520): .float() first, so tanh saves fp32 (4 V)
  and the log-softmax fp32 (4 V).
- The backward of the loss allocates nll_loss's gradient and log_softmax's gradient, both of the
  log-softmax's size and alive together (2 x 4 V under amp), on top of everything saved.
  Measured: tests/validation/test_memory_peak.py.

Compiled (torch.compile, inductor): the loss is fused into the logits' kernels. What remains is the
16-bit logits (saved by the graph and, in nanoGPT, returned and held), two fp32 numbers per row
(max and logsumexp), and in the backward one gradient of the logits in the compute dtype, written
beside the saved logits (not over them). The softcap's output, the fp32 upcast, the fp32
log-softmax and its two gradients are gone (tests/validation/test_memory_compiled.py).
"""

from __future__ import annotations

from . import sources as S
from .weights import _f

EAGER_LOSS = "not compile"
UPCAST = "max(autocast, logits_fp32)"  # 1 when the log-softmax runs in fp32
LSM = f"({UPCAST} * 4 * byte + (1 - {UPCAST}) * bytes_act)"  # the log-softmax's element size
SOFTCAP = "logit_softcap * (softcap_fp32 * 4 * byte + (1 - softcap_fp32) * bytes_act)"  # tanh's saved output
LOSS_SOURCES = (S.nanogpt("model.py", "186-187") + "; " + S.v0("nanochat/gpt.py", "282-285") + "; "
                + S.head("nanochat/gpt.py", "512-520") + "; " + S.AUTOCAST)

FORMULAS = (
    _f("mem_logits_saved", f"micro_tokens * vocab_size * ({SOFTCAP} + {LSM}) / token",
       "the softcap's tanh output (fp32 when it runs after the cast) and the log-softmax's output (fp32 under "
       "autocast or after the model's cast, else the compute dtype)", LOSS_SOURCES, EAGER_LOSS),
    _f("mem_logits_held", "logits_held * micro_tokens * vocab_size * bytes_act / token",
       "the logits the training loop keeps until the next forward returns (feature logits_held)",
       S.nanogpt("train.py", "299-305") + "; " + S.v0("scripts/base_train.py", "258-262")),
    _f("mem_logits_backward", f"2 * micro_tokens * vocab_size * {LSM} / token",
       "nll_loss's gradient and log_softmax's gradient, alive together", S.MEASURED, EAGER_LOSS),
    _f("mem_logits_saved", "micro_tokens * ((1 - logits_held) * vocab_size_padded * bytes_act + 8 * byte) / token",
       "inductor fuses the loss: lm_head's 16-bit output (unless it is the held logits) and per row an fp32 max "
       "and logsumexp; the softcap's tanh, the fp32 upcast and the log-softmax are recomputed in the backward",
       S.COMPILED, "compile"),
    _f("mem_logits_backward", "micro_tokens * vocab_size_padded * bytes_act / token",
       "one fused kernel writes the logits' gradient in the compute dtype into a new buffer, beside the saved "
       "logits: two fused nodes (the row sum of the log-softmax's backward and the gradient itself) read the "
       "saved logits, so inductor's in-place reuse of a saved buffer, which needs a single remaining reader, "
       "does not apply; the saved logits are freed right after",
       S.COMPILED + "; " + S.INPLACE, "compile"),
    _f("mem_logits", "mem_logits_saved + mem_logits_held",
       "logit-sized tensors alive at the end of the forward pass", "definition"),
)
