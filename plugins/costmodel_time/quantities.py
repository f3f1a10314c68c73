"""The names this plugin adds to the vocabulary (../shared/DESIGN.md), each with its canonical unit.

The vocabulary's own time, energy and money names (`peak_flops`, `mfu`, `achieved_flops`,
`tokens_per_second`, `iter_time`, `wall_time`, `gpu_power`, `energy`, `electricity_price`,
`energy_cost`, `gpu_hour_price`, `cloud_cost`) are declared by costmodel_core; this module declares
only what the time model needs besides them.
"""

from __future__ import annotations

from costmodel.declarations import Quantity


def _q(name: str, unit: str, doc: str, kind: str = "real", **kw) -> Quantity:
    return Quantity(name=name, unit=unit, doc=doc, kind=kind, **kw)


QUANTITIES = [
    # the model's width, read by the efficiency model (the families declare it the same way)
    _q("d_model", "1", "width of the residual stream", "integer", positive=True),
    # utilisation
    _q("hfu", "1", "hardware FLOPs utilisation: FLOP/s executed (recomputation included) over peak, whole step"),
    _q("compute_hfu", "1", "hardware FLOPs utilisation while computing (no communication): the efficiency model"),
    _q("hfu_ceiling", "1", "efficiency model: the utilisation of large, well-shaped matmuls (measured)"),
    _q("step_overhead", "s", "efficiency model: fixed time of every micro-step beyond the launches, on each GPU "
       "(fitted: 0)"),
    _q("pytorch_2023", "1", "the run uses the PyTorch 2.0 nightlies of 2022-23 (early TorchInductor, no fused AdamW)",
       "bool", default=False),
    _q("software_slowdown", "1", "efficiency model: how much slower the memory-bound kernels run with the "
       "software of the run (1 today; fitted for 2022-23 PyTorch)"),
    _q("misaligned_head_factor", "1", "efficiency model: slowdown of the head's matmuls with a vocabulary that "
       "is not a multiple of 8"),
    _q("misaligned_head_flops", "FLOP/token", "extra FLOPs per token that stand for the misaligned head's slowdown"),
    _q("layer_overhead", "s", "efficiency model: fixed time per layer and micro-step, kernel launches (fitted)"),
    _q("activation_traffic", "byte/token",
       "efficiency model: bytes memory-bound kernels move per token, layer and width channel (fitted)"),
    _q("traffic_element_bytes", "byte", "bytes per activation element the memory-bound kernels move (2; fp32: 4)"),
    _q("precision_traffic_factor", "1", "efficiency model: memory-bound bytes of the precision over those of "
       "bf16 autocast (counted)"),
    _q("fused_loss", "1", "softmax, loss and the logits' gradient run as one fused kernel (llm.c)", "bool",
       default=False),
    _q("l2_cache", "byte", "on-chip L2 cache of the GPU (from the card file; 0 if not given)"),
    _q("l2_working_set", "1", "efficiency model: activation tensors a micro-step cycles through the L2 (fitted)"),
    _q("dram_share", "1", "share of the activation traffic that misses the L2 cache"),
    _q("logit_traffic", "byte/token", "efficiency model: bytes moved per token and vocabulary entry (fitted)"),
    _q("score_traffic", "byte/token", "efficiency model: bytes moved per attention score (eager attention; counted)"),
    _q("optimizer_traffic", "byte/param", "efficiency model: bytes per parameter of one optimizer step (counted)"),
    _q("fp8", "1", "Linear layers' matmuls in FP8 (nanochat --fp8, torchao float8 training)", "bool", default=False),
    _q("fp8_traffic", "byte/token", "bytes per token of FP8 casts (quantizing Linear inputs and gradients)"),
    _q("fp8_flops_per_token", "FLOP/token", "training FLOPs per token that run in FP8"),
    _q("micro_step_tokens", "token", "tokens of one micro-step on one GPU (micro_batch x seq_len)"),
    _q("matmul_time", "s", "matmul-bound time of one micro-step on one GPU"),
    _q("memory_traffic", "byte/token", "bytes the memory-bound kernels move per token"),
    _q("memory_time", "s", "memory-bound time of one micro-step on one GPU"),
    _q("gpu_time", "s", "the GPU's work of one micro-step: matmuls and memory-bound kernels"),
    _q("launch_time", "s", "the host's time to launch one micro-step's kernels"),
    _q("fixed_time", "s", "the part of a micro-step the GPU does not compute (launches not hidden, loop cost)"),
    _q("micro_step_time", "s", "time of one forward and backward pass on one GPU"),
    _q("optimizer_time", "s", "time of one optimizer step (memory-bound)"),
    # one step
    _q("compute_time", "s/iteration", "time of the forward and backward passes and optimizer of one step"),
    _q("comm_bytes_per_param", "byte/param", "bytes per parameter that gradient reduction moves"),
    _q("allreduce_bytes", "byte", "gradient bytes reduced across the GPUs every optimizer step"),
    _q("allreduce_time", "s/iteration", "time of the ring all-reduce of the gradients, every optimizer step"),
    _q("comm_overlap", "1", "fraction of the all-reduce hidden behind computation (0 = none, 1 = all)",
       minimum=0.0),
    _q("exposed_comm_time", "s/iteration", "all-reduce time not hidden behind computation"),
    # error bars (intervals.py)
    _q("time_interval_low", "1", "lower end of the 80 % interval of a time, as a multiple of the estimate"),
    _q("time_interval_high", "1", "upper end of the 80 % interval of a time, as a multiple of the estimate"),
    _q("memory_interval_low", "1", "lower end of the 80 % interval of a memory peak, as a multiple of the estimate"),
    _q("memory_interval_high", "1", "upper end of the 80 % interval of a memory peak, as a multiple of the estimate"),
    _q("time_interval_runs", "1", "how many validation runs the time interval comes from", "integer"),
    _q("memory_interval_runs", "1", "how many validation runs the memory interval comes from", "integer"),
    _q("iter_time_low", "s/iteration", "lower end of the 80 % interval of iter_time"),
    _q("iter_time_high", "s/iteration", "upper end of the 80 % interval of iter_time"),
    _q("train_time_low", "s", "lower end of the 80 % interval of train_time"),
    _q("train_time_high", "s", "upper end of the 80 % interval of train_time"),
    _q("wall_time_low", "s", "lower end of the 80 % interval of wall_time"),
    _q("wall_time_high", "s", "upper end of the 80 % interval of wall_time"),
    _q("gpu_hours_low", "h", "lower end of the 80 % interval of gpu_hours"),
    _q("gpu_hours_high", "h", "upper end of the 80 % interval of gpu_hours"),
    _q("energy_low", "kWh", "lower end of the 80 % interval of energy"),
    _q("energy_high", "kWh", "upper end of the 80 % interval of energy"),
    _q("energy_cost_low", "USD", "lower end of the 80 % interval of energy_cost"),
    _q("energy_cost_high", "USD", "upper end of the 80 % interval of energy_cost"),
    _q("cloud_cost_low", "USD", "lower end of the 80 % interval of cloud_cost"),
    _q("cloud_cost_high", "USD", "upper end of the 80 % interval of cloud_cost"),
    _q("mem_peak_low", "byte", "lower end of the 80 % interval of mem_peak"),
    _q("mem_peak_high", "byte", "upper end of the 80 % interval of mem_peak"),
    _q("memory_verdict", "1", "2 fits (even at the interval's high end), 1 borderline, 0 does not fit", "integer"),
    # 0 unless the memory plugin's offload recipe moves the optimizer off the GPU (its formulas give it)
    _q("offload_time", "s/iteration", "time per optimizer step spent moving states or gradients over the host "
       "link and updating on the CPU", default=0),
    # the run
    _q("flops_fwd", "FLOP/token", "forward-pass FLOPs per token (evaluation, inference): a third of flops_per_token"),
    _q("train_time", "s", "time of the optimizer steps alone: iters x iter_time"),
    _q("compile_time", "s", "one-off torch.compile warm-up of the first step"),
    _q("eval_interval", "iteration", "optimizer steps between evaluations", positive=True),
    _q("eval_iters", "1", "micro-batches per split and evaluation (nanoGPT's eval_iters; 0 = none)", "integer"),
    _q("eval_time", "s", "time spent evaluating over the run"),
    _q("checkpoints", "1", "checkpoints written during the run", "integer"),
    _q("checkpoint_bytes_per_param", "byte/param", "bytes written per parameter by one checkpoint"),
    _q("storage_bandwidth", "byte/s", "write speed of the disk checkpoints go to", positive=True),
    _q("checkpoint_time", "s", "time spent writing checkpoints over the run"),
    _q("gpu_hours", "h", "GPU-hours of the run: n_gpus x wall_time"),
    # energy
    _q("gpu_busy_fraction", "1", "share of a step in which the GPU runs kernels (nvidia-smi's utilisation)"),
    _q("power_idle_fraction", "1", "GPU power with nothing running, as a fraction of board_power"),
    _q("power_full_fraction", "1", "GPU power at the utilisation ceiling, as a fraction of board_power"),
    _q("host_overhead", "1", "power of CPUs, memory, fans and PSU losses as a fraction of GPU power"),
    _q("pue", "1", "power usage effectiveness of the facility (1 = no cooling overhead)", minimum=1.0),
    # other currencies
    _q("usd_per_currency", "USD", "value of one unit of your currency in US dollars (EUR ~1.1, TWD ~0.03)",
       positive=True),
    _q("electricity_price_local", "1/kWh", "price of electricity in your currency (with currency=local)"),
    _q("gpu_hour_price_local", "1/h", "GPU rental price per hour in your currency (with currency=local)"),
    _q("energy_cost_local", "1", "energy_cost in your currency (needs usd_per_currency)"),
    _q("cloud_cost_local", "1", "cloud_cost in your currency (needs usd_per_currency)"),
]
