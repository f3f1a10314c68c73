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
(max and logsumexp), and in the backward one gradient of the logits in the compute dtype. The
fp32 log-softmax and its two gradients are gone.
"""

from __future__ import annotations

from . import sources as S
from .weights import AMP, GPT2, NANOCHAT, V0, _f

EAGER_LOSS = "not compile"
LSM = "(autocast * 4 * byte + (1 - autocast) * bytes_act)"  # the log-softmax's element size

FORMULAS = (
    # --- nanoGPT ----------------------------------------------------------------------------
    _f("mem_logits_saved", f"micro_tokens * vocab_size * {LSM} / token",
       "log_softmax's output, fp32 under autocast (in the compute dtype otherwise)",
       S.nanogpt("model.py", "186-187") + "; " + S.AUTOCAST, f"{GPT2} and {EAGER_LOSS}"),
    _f("mem_logits_held", "micro_tokens * vocab_size * bytes_act / token",
       "train.py keeps the logits it gets back from the model until the next forward returns",
       S.nanogpt("train.py", "299-305") + "; " + S.nanogpt("model.py", "193"), GPT2),
    _f("mem_logits_backward", f"2 * micro_tokens * vocab_size * {LSM} / token",
       "nll_loss's gradient and log_softmax's gradient, alive together", S.MEASURED,
       f"{GPT2} and {EAGER_LOSS}"),
    _f("mem_logits_saved", "micro_tokens * 8 * byte / token",
       "inductor fuses the loss: per row an fp32 max and logsumexp; the logits it saves are the ones held",
       S.COMPILED, f"{GPT2} and compile"),
    _f("mem_logits_backward", "micro_tokens * vocab_size * bytes_act / token",
       "one fused kernel writes the logits' gradient in the compute dtype", S.COMPILED, f"{GPT2} and compile",
       assumptions=("inductor's backward kernel reads the saved logits and logsumexp and writes only dlogits",)),
    # --- nanochat ---------------------------------------------------------------------------
    _f("mem_logits_held", "0 * byte", "base_train keeps only the loss (the model returns no logits)",
       S.v0("scripts/base_train.py", "258-262") + "; " + S.head("scripts/base_train.py", "510-517"), NANOCHAT),
    _f("mem_logits_saved", "micro_tokens * vocab_size * (bytes_act + 4 * byte) / token",
       "v0: tanh's 16-bit output (softcap before .float()) and the fp32 log-softmax",
       S.v0("nanochat/gpt.py", "282-285"), f"{V0} and {AMP} and {EAGER_LOSS}"),
    _f("mem_logits_saved", "micro_tokens * vocab_size * 8 * byte / token",
       "tanh's fp32 output (.float() before the softcap) and the fp32 log-softmax",
       S.head("nanochat/gpt.py", "512-520"), f'{NANOCHAT} and not (version == "v0" and {AMP}) and {EAGER_LOSS}'),
    _f("mem_logits_backward", "2 * micro_tokens * vocab_size * 4 * byte / token",
       "nll_loss's and log_softmax's fp32 gradients, alive together", S.MEASURED, f"{NANOCHAT} and {EAGER_LOSS}"),
    _f("mem_logits_saved", "micro_tokens * (vocab_size_padded * bytes_act + 8 * byte) / token",
       "compiled: lm_head's 16-bit output (padded vocabulary) and per-row max and logsumexp",
       S.COMPILED, f"{NANOCHAT} and compile",
       assumptions=("the softcap is fused like the loss (only nanoGPT's compiled graph was measured)",)),
    _f("mem_logits_backward", "micro_tokens * vocab_size_padded * bytes_act / token",
       "compiled: one gradient of the logits in the compute dtype", S.COMPILED, f"{NANOCHAT} and compile"),
    # --- both -------------------------------------------------------------------------------
    _f("mem_logits", "mem_logits_saved + mem_logits_held",
       "logit-sized tensors alive at the end of the forward pass", "definition"),
)
