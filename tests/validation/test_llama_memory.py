"""The llama family's memory against the reference Llama (ref_llama.py) trained on the CPU.

The run is a Hugging Face Trainer-style step: the model's weights in fp32 under autocast
(amp-bf16), all in fp32, or all cast to bf16; the loss computed on logits cast to fp32
(transformers' ForCausalLMLoss upcasts them); the loop keeps only the loss (Trainer.compute_loss
returns the loss, not the outputs), then fused AdamW. The measurements are the same as for the
other families (memory_probe.py, test_memory_activations.py, test_memory_peak.py):

- saved activations: the unique storages autograd saves in one forward under CUDA's autocast
  semantics, against `mem_activations + mem_logits`, within 2 %;
- eager step peak: MemTracker's peak over two optimizer steps of two micro-steps each, buffers left
  out, against `mem_peak - mem_overhead - mem_buffers`, within 5 %.

The reference uses F.rms_norm (the fused kernel the memory model assumes; transformers' own
LlamaRMSNorm is written out in fp32 and keeps more) and SDPA with enable_gqa for "flash".
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed._tools.mem_tracker")

sys.path.insert(0, str(Path(__file__).parent))
import memory_models as M  # noqa: E402
from memory_probe import saved_activation_bytes  # noqa: E402
from ref_llama import LlamaConfig, RefLlama  # noqa: E402
from test_memory_peak import measured_peak, predicted_peak  # noqa: E402

from costmodel.api import estimate  # noqa: E402

ACTIVATIONS_TOLERANCE = 0.02
PEAK_TOLERANCE = 0.05
ERRORS: dict[str, list[float]] = {"activations": [], "peak": []}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def llama_run(shape: dict, micro_batch: int, *, precision="amp-bf16", attention="flash", seed=0) -> M.Run:
    torch.manual_seed(seed)
    cfg = LlamaConfig(attention=attention, **shape)
    model = RefLlama(cfg)
    if precision == "bf16":
        model.to(torch.bfloat16)
    elif precision in ("amp-bf16", "amp-fp16"):  # the rotary tables in the compute dtype
        dtype = M.AUTOCAST_DTYPE[precision]
        model.cos, model.sin = model.cos.to(dtype), model.sin.to(dtype)
    idx = torch.randint(cfg.vocab_size, (micro_batch, cfg.seq_len))
    return M.Run(model, idx, torch.randint(cfg.vocab_size, (micro_batch, cfg.seq_len)), precision)


def llama_values(shape: dict, micro_batch: int, *, precision="amp-bf16", attention="flash",
                 grad_accum=2) -> dict:
    values = {"tied_embeddings": False, "qkv_bias": False, "out_bias": False, "mlp_bias": False,
              **shape, "micro_batch": micro_batch, "precision": precision, "attention": attention,
              "compile": False, "n_gpus": 1, "grad_accum": grad_accum, "optimizer": "adamw"}
    if "head_dim" not in shape:
        values.pop("head_dim", None)
    return values


def _shape(n_layer, d_model, n_head, n_kv_head, d_ff, vocab_size, seq_len, **extras) -> dict:
    return dict(n_layer=n_layer, d_model=d_model, n_head=n_head, n_kv_head=n_kv_head, d_ff=d_ff,
                vocab_size=vocab_size, seq_len=seq_len, **extras)


# shapes: GQA and MHA, tied and untied, biases, a vocabulary large enough for the logits to matter
SHAPES = [
    (_shape(2, 32, 4, 2, 86, 64, 16), 2),
    (_shape(2, 32, 4, 4, 64, 64, 16, tied_embeddings=True), 2),
    (_shape(3, 48, 6, 2, 128, 100, 12, qkv_bias=True, tied_embeddings=True), 3),
    (_shape(2, 64, 8, 1, 172, 200, 32), 2),
    (_shape(1, 64, 4, 2, 160, 512, 16, mlp_bias=True, out_bias=True), 2),
]
ACTIVATION_GRID = [
    pytest.param((shape, micro_batch), precision, attention)
    for shape, micro_batch in SHAPES
    for precision in ("amp-bf16", "fp32", "bf16")
    for attention in ("flash", "eager")
]
PEAK_GRID = [
    (SHAPES[0], "amp-bf16", "flash", 2),
    (SHAPES[1], "fp32", "eager", 3),
    (SHAPES[2], "amp-bf16", "eager", 2),
    (SHAPES[3], "bf16", "flash", 2),
    (SHAPES[4], "amp-bf16", "flash", 2),
    (SHAPES[4], "fp32", "flash", 2),
]


def _id(case) -> str:
    (shape, micro_batch), *rest = case
    flags = "-".join(k for k, v in shape.items() if v is True)
    return (f"L{shape['n_layer']}-d{shape['d_model']}-h{shape['n_head']}-kv{shape['n_kv_head']}"
            f"-V{shape['vocab_size']}-T{shape['seq_len']}-B{micro_batch}-{flags}-"
            + "-".join(str(r) for r in rest))


@pytest.mark.parametrize("shape_batch, precision, attention", ACTIVATION_GRID,
                         ids=[_id(p.values) for p in ACTIVATION_GRID])
def test_saved_activations(shape_batch, precision, attention):
    shape, micro_batch = shape_batch
    run = llama_run(shape, micro_batch, precision=precision, attention=attention)
    measured = saved_activation_bytes(run.model, run.forward)["total"]
    r = estimate("llama", values=llama_values(shape, micro_batch, precision=precision, attention=attention))
    predicted = r.results["mem_activations"].m_as("byte") + r.results["mem_logits"].m_as("byte")
    error = predicted / measured - 1
    ERRORS["activations"].append(abs(error))
    assert abs(error) < ACTIVATIONS_TOLERANCE, f"measured {measured} bytes, costmodel off by {error:+.2%}"


@pytest.mark.parametrize("case", PEAK_GRID, ids=[_id(c) for c in PEAK_GRID])
def test_step_peak(case):
    (shape, micro_batch), precision, attention, grad_accum = case
    run = llama_run(shape, micro_batch, precision=precision, attention=attention)
    optimizer = torch.optim.AdamW(run.model.parameters(), lr=1e-3, fused=True)
    measured = measured_peak(run, optimizer, grad_accum)
    values = llama_values(shape, micro_batch, precision=precision, attention=attention, grad_accum=grad_accum)
    prediction, moment = predicted_peak("llama", values)
    error = prediction / measured - 1
    ERRORS["peak"].append(abs(error))
    assert abs(error) < PEAK_TOLERANCE, f"moment {moment}: measured {measured:.0f}, costmodel off by {error:+.2%}"


def test_report_max_error(capsys):
    with capsys.disabled():
        for kind, errors in ERRORS.items():
            if errors:
                print(f"\n[memory] llama {kind}: {len(errors)} configs, max error {max(errors):.3%}")
