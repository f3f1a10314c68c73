"""Where the memory model's facts come from: pinned upstream commits and papers, as citations.

Every number in this plugin was read from one of these, or measured by tests/validation
(test_memory_activations.py, test_memory_peak.py); the formula's `source` says which.
"""

from __future__ import annotations

NANOGPT = "karpathy/nanoGPT {path}@3adf61e154c3 L{lines}"
NANOCHAT_V0 = "karpathy/nanochat {path}@fae3aca9519a L{lines}"
NANOCHAT_HEAD = "karpathy/nanochat {path}@92d63d4e8bb4 L{lines}"
TORCH = "pytorch/pytorch v2.13.0 {path}"
BNB = "bitsandbytes-foundation/bitsandbytes {path}@0.50.1 (37d2a9387f71) L{lines}"

QLORA = "Dettmers et al. 2023, QLoRA (arXiv:2305.14314) section 3 (NF4, double quantization, 4.127 bits/param)"
LLM_INT8 = "Dettmers et al. 2022, LLM.int8() (arXiv:2208.07339) section 3 (vector-wise int8 with fp32 row scales)"
ADAM8BIT = "Dettmers et al. 2022, 8-bit Optimizers via Block-wise Quantization (arXiv:2110.02861) section 2"
ZERO = "Rajbhandari et al. 2020, ZeRO (arXiv:1910.02054) section 5 (P_os, P_os+g, P_os+g+p)"
FSDP = "Zhao et al. 2023, PyTorch FSDP (arXiv:2304.11277) section 3.2 (unit all-gather, prefetch)"
KORTHIKANTI = "Korthikanti et al. 2022, Reducing Activation Recomputation (arXiv:2205.05198) sections 4.1-4.2"
CHEN = "Chen et al. 2016, Training Deep Nets with Sublinear Memory Cost (arXiv:1604.06174); torch.utils.checkpoint"
LORA = "Hu et al. 2021, LoRA (arXiv:2106.09685) section 4; huggingface/peft LoraConfig (r=8 default)"
FLASH = "Dao et al. 2022, FlashAttention (arXiv:2205.14135) section 3.1 (only the logsumexp is kept for backward)"
MODDED = ("KellerJordan/modded-nanogpt train_gpt2.py@e5b254f5628387a0ac1b10787cd833e6dbbcfcc8 L127-L167 "
          "(c_attn's output split into q, k, v; apply_rotary_emb on q and k with fp32 cos/sin; SDPA on the rotated "
          "q, k and the view v)")
MEASURED_ROTARY = ("measured: tests/validation/test_memory_compiled.py::test_rotary_on_fused_qkv (the compiled graph "
                   "and eager autograd both save the rotated q and k beside the fused output)")
NCCL = ("NVIDIA/nccl#964 (ConnollyLeon, 2023-08-16): a process group's communicator with a 4 MB all-reduce takes "
        "544 MB per GPU for 2 GPUs and 688 MB for more than 2 (4 x A100 NVLink, PyTorch); NCCL_BUFFSIZE default "
        "4 MiB per channel (NCCL environment-variable docs). Not included: NVLink SHARP buffers on H100/H200 "
        "NVSwitch systems (vllm-project/vllm#9699, 'nvlsPerRankSize 301989888')")
NCCL_FLAT = ("pytorch/pytorch torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp, ProcessGroupNCCL::reduce_scatter and "
             "::allgather with lists of equal tensors: newLikeFlat stacks the list into one new tensor (copied in "
             "before, or out after, the collective; recordStream keeps it allocated until the NCCL stream is done); "
             "c10/cuda/CUDACachingAllocator.cpp release_cached_blocks -> synchronize_and_free_events (before an "
             "allocation fails, the allocator waits for those streams and frees such blocks)")
MUON = "Jordan et al. 2024, Muon (kellerjordan.github.io/posts/muon): one momentum buffer per matrix"

AUTOCAST = TORCH.format(path="aten/src/ATen/autocast_mode.h (AT_FORALL_LOWER_PRECISION_FP, AT_FORALL_FP32, "
                        "AT_FORALL_FP32_SET_OPT_DTYPE) and autocast_mode.cpp cached_cast (weight-cast cache)")
ADAMW_TORCH = TORCH.format(path="torch/optim/adamw.py (exp_avg, exp_avg_sq = zeros_like(param))")
DDP_BUCKETS = ("PyTorch DistributedDataParallel docs, gradient_as_bucket_view: 'the saved memory size will be "
               "equal to the total gradients size' (buckets hold a second copy of the gradients by default)")
CONTEXT = ("pytorch/pytorch#86509 (CUDA_MODULE_LOADING=LAZY, default since PyTorch 1.13): CUDA context "
           "287,047,680 bytes lazy vs 666,632,192 eager")
CUBLAS = ("pytorch/pytorch aten/src/ATen/cuda/CublasHandlePool.cpp: default CUBLAS_WORKSPACE_CONFIG "
          ":4096:2:16:8 = 8,519,680 bytes per handle and stream (also seen as the fixed 8519680-byte block in "
          "discuss.pytorch.org/t/178671); cuBLASLt workspace 1 MiB below sm90 (pytorch/pytorch#120925)")
ALLOCATOR = ("PyTorch CUDA semantics docs, memory management (caching allocator rounds to 512 B, large "
             "blocks come from 2 MiB-multiple segments and can fragment); ezyang, 'When does fragmentation "
             "occur in the CUDA caching allocator?', PyTorch devlog 2026-06-01")
RMS_NORM_POLICY = ("pytorch/pytorch#174824 (rms_norm on autocast's fp32 list, released in 2.12) and #188955 (its "
                   "memory cost under torch.compile); earlier releases run rms_norm in the input's dtype")
EXPANDABLE = ("the same devlog, 'With expandable segments' (one segment per stream whose blocks always merge; 20 MiB "
              "pages) and 'Why allocation order doesn't matter' (once a step frees its activations, all merges again)")
MEASURED = ("measured: tests/validation/test_memory_activations.py and test_memory_peak.py "
            "(torch 2.13 on CPU, CUDA semantics)")
PARTITIONER = ("pytorch/pytorch v2.13.0 torch/_functorch/partitioners.py min_cut_rematerialization_partition "
               "(what inductor keeps for the backward: a minimum cut by bytes; pointwise ops recomputed, matmuls, "
               "attention and reductions not, nor a node the backward must materialise, e.g. a matmul's input); "
               "measured: tests/validation/test_memory_compiled.py")
INPLACE = ("pytorch/pytorch v2.13.0 torch/_inductor/scheduler.py BaseSchedulerNode.decide_inplace_update (a donated "
           "saved buffer is reused in place only by its last remaining reader); seen in the generated backward of "
           "nanochat v0 (torch._inductor.utils.run_and_get_code): the logits' gradient gets its own buffer")
COMPILED = ("measured: tests/validation/test_memory_compiled.py (torch 2.13: dynamo and AOT autograd with inductor's "
            "decompositions and min-cut partitioner; torch.compile's CPU inductor saves the same bytes): the compiled "
            "graph saves the 16-bit logits and two fp32 numbers per row (max, logsumexp), not the softcap, the fp32 "
            "upcast or the log-softmax")


def nanogpt(path: str, lines: str) -> str:
    return NANOGPT.format(path=path, lines=lines)


def v0(path: str, lines: str) -> str:
    return NANOCHAT_V0.format(path=path, lines=lines)


def head(path: str, lines: str) -> str:
    return NANOCHAT_HEAD.format(path=path, lines=lines)


def bnb(path: str, lines: str) -> str:
    return BNB.format(path=path, lines=lines)

VASWANI = "Vaswani et al. 2017, Attention Is All You Need (arXiv:1706.03762) section 3.3 (two-matrix MLP)"
SHAZEER = "Shazeer 2020, GLU Variants Improve Transformer (arXiv:2002.05202) section 2 (gate, up, down)"
EMBEDDING_LOWP = ("feature embedding_lowp, e.g. karpathy/nanochat nanochat/gpt.py@fae3aca9519a L172-L173 (wte cast to "
                  "bf16) and @92d63d4e8bb4 L262-L268 (embeddings in COMPUTE_DTYPE)")
