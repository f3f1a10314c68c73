"""What a LoRA fine-tuning step really computes: no weight gradients for the frozen base, the
adapters' own matmuls, and the dequantisation of a 4-bit or 8-bit base before each use.

Per token, a full training step does 6 FLOP per matmul weight: 2 forward, 2 for the gradient of the
input, 2 for the gradient of the weight (Kaplan et al. 2020, arXiv:2001.08361 section 2.1). With
the base frozen, its weight gradients are never formed (requires_grad=False: autograd skips that
matmul), while the input gradients still flow back through every layer to reach the adapters:

    frozen_flops_saved_per_token = 2 * n_params_matmul_weights - 6 * n_params_lora   [FLOP/token]

(the adapters' A and B are ordinary trainable matmuls: 6 FLOP per adapter weight and token).
The model FLOPs of a fine-tuning step (the MFU numerator, PaLM's definition: what the step needs,
recomputation left out) are flops_per_token - frozen_flops_saved_per_token per token; the hardware
executes that plus recompute_flops_per_token.

bitsandbytes dequantises each quantised matrix to the compute dtype for every matmul that uses it
(forward, the input gradient in backward, and the recomputed forward under full checkpointing), an
elementwise pass that reads the packed weight and writes a 16-bit copy, bound by memory bandwidth:

    dequant_time = passes * n_params_matrices * (bytes read + bytes written) / mem_bandwidth   [s per micro-step]
"""

from __future__ import annotations

from . import sources as S
from .weights import FROZEN, FULL, _f

PER_TOKEN = "FLOP/(param*token)"

FORMULAS = (
    _f("frozen_flops_saved_per_token", "0 * FLOP/token", "every weight is trained: all its gradients are formed",
       "definition", FULL),
    _f("frozen_flops_saved_per_token",
       f"2 * n_params_matmul_weights * {PER_TOKEN} - 6 * n_params_lora * {PER_TOKEN}",
       "frozen base: no weight-gradient matmul (2 FLOP per weight and token saved); the adapters add "
       "6 FLOP per adapter weight and token (forward, input and weight gradients)",
       S.LORA + " (section 4.2: frozen weights need no gradients); Kaplan et al. 2020 (arXiv:2001.08361) "
       "section 2.1 (2 FLOP forward, 4 backward per weight and token)", FROZEN,
       assumptions=("the input gradients still flow through every frozen layer to reach the adapters "
                    "below it", "embeddings, norms and lm_head are frozen with the base")),
    _f("dequant_passes", "2", "forward and the input gradient in backward each dequantise the weight",
       S.QLORA + " (the storage type is dequantised to the computation type for forward and backward)",
       'checkpointing != "full"'),
    _f("dequant_passes", "3", "full checkpointing runs the forward a second time in backward",
       S.QLORA + "; Chen et al. 2016 (arXiv:1604.06174)", 'checkpointing == "full"'),
    _f("dequant_time", "0 * s", "no quantised weights to unpack", "definition", 'weights in ("full", "lora")'),
    _f("dequant_time",
       "dequant_passes * n_params_matrices * (1 * byte/param + bytes_lowp / param) / mem_bandwidth",
       "int8 base: read 1 byte, write a 16-bit copy per weight and use",
       S.LLM_INT8 + "; " + S.bnb("bitsandbytes/nn/modules.py", "719-746"), 'weights == "int8"'),
    _f("dequant_time",
       "dequant_passes * n_params_matrices * ((1/2 + 1/64) * byte/param + bytes_lowp / param) / mem_bandwidth",
       "NF4 base: read 4 bits and the absmax, write a 16-bit copy per weight and use",
       S.QLORA + "; " + S.bnb("bitsandbytes/nn/modules.py", "504-546") + " (Linear4bit dequantises to compute_dtype)",
       'weights == "nf4"'),
)
