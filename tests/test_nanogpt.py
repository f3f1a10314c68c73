"""Golden tests of the nanoGPT family: every expected number is worked out here by hand.

The arithmetic is written per module of nanoGPT's model.py (karpathy/nanoGPT@3adf61e154c3), not
copied from the plugin's formulas, and where nanoGPT itself printed a number (its
transformer_sizing.ipynb, train.py's "number of parameters: ...M") the test says so.
"""

from __future__ import annotations

import pytest

from costmodel.api import estimate
from costmodel.errors import UserError
from costmodel_nanogpt.config import IGNORED
from costmodel_nanogpt.config import load_config as read_with_ignored


def load_config(path, overrides):
    """What the reader maps (the keys it reads and does not model are checked on their own)."""
    out = dict(read_with_ignored(path, overrides))
    out.pop(IGNORED, None)
    return out


def count_by_module(n_layer, n_embd, vocab_size, block_size, bias):
    """Parameters of nanoGPT's GPT, one module at a time (model.py L18-L138)."""
    d, b = n_embd, int(bias)
    layer_norm = d + b * d  # weight (+ bias)
    c_attn = d * 3 * d + b * 3 * d
    attn_proj = d * d + b * d
    c_fc = d * 4 * d + b * 4 * d
    mlp_proj = 4 * d * d + b * d
    block = layer_norm + c_attn + attn_proj + layer_norm + c_fc + mlp_proj
    wte = vocab_size * d  # lm_head shares this tensor: nothing more for it
    wpe = block_size * d
    return wte + wpe + n_layer * block + layer_norm  # the last one is ln_f


def millions(count):
    """How model.py L148 prints a count."""
    return "%.2fM" % (count / 1e6,)


def run(**kwargs):
    return estimate("nanogpt", **kwargs).results


# --- GPT-2 (124M) -----------------------------------------------------------------------------


def test_gpt2_124m_parameters():
    n = count_by_module(12, 768, 50257, 1024, True)
    # 12 blocks of 7,087,872 + wte 38,597,376 + wpe 786,432 + ln_f 1,536
    assert 12 * 7_087_872 + 50257 * 768 + 1024 * 768 + 2 * 768 == n == 124_439_808
    r = run(preset="gpt2")
    assert r["n_params"].m_as("param") == 124_439_808


def test_gpt2_reported_counts_as_nanogpt_prints_them():
    """get_num_params() leaves out wpe (1024 x 768 = 786,432). What gets printed depends on the
    config: "123.69M" is GPTConfig's own defaults (vocab 50304, bias True); from_pretrained('gpt2')
    (vocab 50257) prints 123.65M, and train.py from scratch (vocab 50304, bias False) 123.59M."""
    wpe = 1024 * 768
    pretrained = count_by_module(12, 768, 50257, 1024, True) - wpe
    assert pretrained == 123_653_376 and millions(pretrained) == "123.65M"
    assert run(preset="gpt2")["n_params_reported"].m_as("param") == pretrained

    gptconfig_defaults = count_by_module(12, 768, 50304, 1024, True) - wpe
    assert gptconfig_defaults == 123_689_472 and millions(gptconfig_defaults) == "123.69M"
    r = run(values={"bias": True})  # train.py defaults otherwise: vocab 50304, block 1024
    assert r["n_params_reported"].m_as("param") == gptconfig_defaults

    scratch = count_by_module(12, 768, 50304, 1024, False) - wpe
    assert scratch == 123_587_328 and millions(scratch) == "123.59M"
    assert run()["n_params_reported"].m_as("param") == scratch


def test_transformer_sizing_notebook():
    """nanoGPT's transformer_sizing.ipynb (bias=False, vocab 50257, block 1024) printed
    `expected: 124337664`, `palm_flops: 875062886400` and flops()['total'] 874944921600 for one
    1024-token sequence; the last is 3 x the forward matmuls, attention scores included: the eager
    count."""
    values = {"bias": False, "vocab_size": 50257, "attention": "eager"}
    r = run(values=values)
    assert count_by_module(12, 768, 50257, 1024, False) == 124_337_664
    assert r["n_params"].m_as("param") == 124_337_664
    assert r["flops_per_token"].m_as("FLOP/token") * 1024 == 875_062_886_400
    assert r["flops_per_token_exact"].m_as("FLOP/token") * 1024 == 874_944_921_600


def test_gpt2_flops_per_token_by_estimate_mfu():
    """6N + 12 L H Q T with N = get_num_params() (model.py L293-L296)."""
    n = 124_439_808 - 786_432
    expected = 6 * n + 12 * 12 * 12 * 64 * 1024  # L = 12, H = 12, Q = 64, T = 1024
    assert expected == 855_166_464
    assert run(preset="gpt2")["flops_per_token"].m_as("FLOP/token") == expected


def test_exact_flops_flash_adds_the_recomputed_scores():
    L, d, V, T = 12, 768, 50257, 1024
    linear = 3 * 2 * (L * (3 * d * d + d * d + 4 * d * d + 4 * d * d) + d * V)  # fwd, dX, dW
    eager = linear + L * (4 + 8) * d * T  # QK^T and AV: forward 2 matmuls, backward 4
    flash = linear + L * (4 + 10) * d * T  # flash backward recomputes QK^T: 5 matmuls
    r = run(preset="gpt2", values={"attention": "eager"})
    assert r["flops_per_token_exact"].m_as("FLOP/token") == eager == 854_438_400
    r = run(preset="gpt2", values={"attention": "flash"})
    assert flash == 854_438_400 + 2 * 12 * 768 * 1024
    assert r["flops_per_token_exact"].m_as("FLOP/token") == flash


# --- the users' run: 12 layers, n_embd 384, vocab 50304, block 1024 -------------------------------


def test_users_run_is_40_56m_reported():
    """40.56M is get_num_params() (wpe left out) with train.py's bias=False. The count with wpe
    is 40.95M, and with biases on 40.61M. n_head changes no count: any divisor of 384 (6 here)."""
    L, d, V, T = 12, 384, 50304, 1024
    reported = count_by_module(L, d, V, T, False) - T * d
    assert reported == 40_560_000 and millions(reported) == "40.56M"
    assert millions(count_by_module(L, d, V, T, False)) == "40.95M"
    assert millions(count_by_module(L, d, V, T, True) - T * d) == "40.61M"
    for n_head in (6, 12):
        r = run(values={"n_layer": L, "n_head": n_head, "n_embd": d, "vocab_size": V, "seq_len": T})
        assert r["n_params_reported"].m_as("param") == 40_560_000
        assert r["n_params"].m_as("param") == 40_953_216
        # estimate_mfu: 6N + 12 L H Q T = 6 x 40,560,000 + 12 x 12 x 384 x 1024
        assert r["flops_per_token"].m_as("FLOP/token") == 243_360_000 + 56_623_104 == 299_983_104


# --- presets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preset, n_layer, n_head, n_embd, total",
    [
        ("gpt2", 12, 12, 768, 124_439_808),
        ("gpt2-medium", 24, 16, 1024, 354_823_168),
        ("gpt2-large", 36, 20, 1280, 774_030_080),
        ("gpt2-xl", 48, 25, 1600, 1_557_611_200),
    ],
)
def test_gpt2_checkpoints(preset, n_layer, n_head, n_embd, total):
    """from_pretrained shapes with vocab 50257, block 1024, biases on (model.py L216-L225); the
    totals are the parameter counts of OpenAI's released checkpoints."""
    assert count_by_module(n_layer, n_embd, 50257, 1024, True) == total
    r = run(preset=preset)
    assert r["n_params"].m_as("param") == total
    assert r["n_params_reported"].m_as("param") == total - 1024 * n_embd
    assert r["head_dim"].m_as("1") == n_embd / n_head == 64
    assert r["n_kv_head"].m_as("1") == n_head
    assert r["d_model"].m_as("1") == n_embd


def test_shakespeare_char_preset():
    """config/train_shakespeare_char.py: 6 layers, 6 heads, 384 wide, 256 characters of context,
    65 characters of vocabulary, batch 64, no accumulation, max_iters 5000."""
    total = count_by_module(6, 384, 65, 256, False)
    assert total == 6 * (12 * 384 * 384 + 2 * 384) + (65 + 256 + 1) * 384 == 10_745_088
    r = run(preset="shakespeare-char")
    assert r["n_params"].m_as("param") == total
    assert millions(r["n_params_reported"].m_as("param")) == "10.65M"
    assert r["tokens_per_iter"].m_as("token/iteration") == 64 * 256
    assert r["iters"].m_as("iteration") == 5001


# --- run quantities: grad_accum per GPU, iterations ----------------------------------------------


def test_train_gpt2_on_eight_gpus_takes_491520_tokens_per_iteration():
    """12 batch x 1024 block x 40 grad-accum summed over 8 GPUs (config/train_gpt2.py comment)."""
    r = run(values={"n_gpus": 8})
    assert r["grad_accum"].m_as("1") == 40 / 8
    assert r["tokens_per_iter"].m_as("token/iteration") == 12 * 1024 * 5 * 8 == 491_520
    # the loop makes steps 0..max_iters: 600,001 of them
    assert r["iters"].m_as("iteration") == 600_001
    assert r["total_tokens"].m_as("token") == 600_001 * 491_520


def test_world_size_must_divide_gradient_accumulation_steps():
    with pytest.raises(UserError, match="multiple of n_gpus"):
        run(values={"n_gpus": 3})


def test_n_embd_must_be_a_multiple_of_n_head():
    with pytest.raises(UserError, match="multiple of n_head"):
        run(values={"n_embd": 100, "n_head": 3})


def test_mfu_as_train_py_prints_it():
    """estimate_mfu(batch_size * grad_accum_per_gpu, dt) / 312e12, for one GPU of eight; dt is
    the time model's iteration time on the card."""
    n = count_by_module(12, 768, 50304, 1024, False) - 1024 * 768
    per_token = 6 * n + 12 * 12 * 768 * 1024
    per_gpu_iteration = per_token * 1024 * 12 * 5  # T x batch_size x 40 / 8 micro-steps
    for card in ("h100-sxm", "a100-40gb-sxm"):
        r = run(hardware=card, values={"n_gpus": 8})
        dt = r["iter_time"].m_as("s/iteration")
        expected = per_gpu_iteration / dt / 312e12
        assert r["mfu_nanogpt"].m_as("1") == pytest.approx(expected, rel=1e-12)
    # on an A100 in bf16 (peak 312 TFLOP/s) nanoGPT's figure is the time model's own mfu
    assert r["mfu_nanogpt"].m_as("1") == pytest.approx(r["mfu"].m_as("1"), rel=1e-12)


# --- config files: equivalents of every file in upstream config/ ---------------------------------
# Written for these tests with the same keys and values as nanoGPT's config/*.py at 3adf61e154c3;
# comments and layout are our own.

EVAL_TEXT = """
batch_size = 8
eval_iters = 500
eval_only = True
wandb_log = False
init_from = '{checkpoint}'
"""

FINETUNE_SHAKESPEARE = """
import time

out_dir = 'out-shakespeare'
eval_interval = 5
eval_iters = 40
wandb_log = False
wandb_project = 'shakespeare'
wandb_run_name = 'ft-' + str(time.time())  # only running Python knows this: skipped
dataset = 'shakespeare'
init_from = 'gpt2-xl'
always_save_checkpoint = False
batch_size = 1
gradient_accumulation_steps = 32
max_iters = 20
learning_rate = 3e-5
decay_lr = False
"""

TRAIN_GPT2 = """
wandb_log = True
wandb_project = 'owt'
wandb_run_name='gpt2-124M'
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 5 * 8  # 40
max_iters = 600000
lr_decay_iters = 600000
eval_interval = 1000
eval_iters = 200
log_interval = 10
weight_decay = 1e-1
"""

TRAIN_SHAKESPEARE_CHAR = """
out_dir = 'out-shakespeare-char'
eval_interval = 250
eval_iters = 200
log_interval = 10
always_save_checkpoint = False
wandb_log = False
wandb_project = 'shakespeare-char'
wandb_run_name = 'mini-gpt'
dataset = 'shakespeare_char'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256
n_layer = 6
n_head = 6
n_embd = 384
dropout = 0.2
learning_rate = 1e-3
max_iters = 5000
lr_decay_iters = 5000
min_lr = 1e-4
beta2 = 0.99
warmup_iters = 100
# device = 'cpu'
# compile = False
"""

CHECKPOINTS = {
    "gpt2": (12, 12, 768),
    "gpt2-medium": (24, 16, 1024),
    "gpt2-large": (36, 20, 1280),
    "gpt2-xl": (48, 25, 1600),
}


def write(tmp_path, text, name="config.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("checkpoint", list(CHECKPOINTS))
def test_eval_configs(tmp_path, checkpoint):
    n_layer, n_head, n_embd = CHECKPOINTS[checkpoint]
    path = write(tmp_path, EVAL_TEXT.format(checkpoint=checkpoint))
    assert load_config(path, []) == {
        "micro_batch": 8,
        "n_layer": n_layer,
        "n_head": n_head,
        "n_embd": n_embd,
        "vocab_size": 50257,
        "bias": True,
        "seq_len": 1024,
        "eval_iters": 500,
    }
    assert read_with_ignored(path, [])[IGNORED] == ("eval_only", "wandb_log")
    r = run(config=path)
    assert r["n_params"].m_as("param") == count_by_module(n_layer, n_embd, 50257, 1024, True)


def test_finetune_shakespeare_config(tmp_path):
    loaded = load_config(write(tmp_path, FINETUNE_SHAKESPEARE), [])
    assert loaded == {
        "micro_batch": 1,
        "gradient_accumulation_steps": 32,
        "max_iters": 20,
        "eval_interval": 5,
        "eval_iters": 40,
        "n_layer": 48,
        "n_head": 25,
        "n_embd": 1600,
        "vocab_size": 50257,  # the checkpoint's, although the dataset is GPT-2 BPE as well
        "bias": True,
        "seq_len": 1024,
    }
    r = run(config=write(tmp_path, FINETUNE_SHAKESPEARE))
    # the config's own comment: 1 x 32 x 1024 = 32,768 tokens per iteration
    assert r["tokens_per_iter"].m_as("token/iteration") == 32_768
    assert r["total_tokens"].m_as("token") == 21 * 32_768


def test_train_gpt2_config(tmp_path):
    path = write(tmp_path, TRAIN_GPT2)
    assert load_config(path, []) == {
        "micro_batch": 12,
        "seq_len": 1024,
        "gradient_accumulation_steps": 40,
        "max_iters": 600000,
        "eval_interval": 1000,
        "eval_iters": 200,
    }
    r = run(config=path, values={"n_gpus": 8})
    assert r["tokens_per_iter"].m_as("token/iteration") == 491_520


def test_train_shakespeare_char_config_matches_the_preset(tmp_path):
    path = write(tmp_path, TRAIN_SHAKESPEARE_CHAR)
    assert load_config(path, []) == {
        "micro_batch": 64,
        "seq_len": 256,
        "gradient_accumulation_steps": 1,
        "n_layer": 6,
        "n_head": 6,
        "n_embd": 384,
        "max_iters": 5000,
        "vocab_size": 65,  # meta.pkl of data/shakespeare_char
        "eval_interval": 250,
        "eval_iters": 200,
        "dropout": 0.2,
    }
    from_config = run(config=path, hardware="rtx-4070")
    from_preset = run(preset="shakespeare-char", hardware="rtx-4070")
    names = ("n_params", "n_params_reported", "flops_per_token", "tokens_per_iter", "total_tokens",
             "eval_time", "mem_peak", "wall_time")
    for name in names:
        assert from_config[name] == from_preset[name]


def test_readme_macbook_run(tmp_path):
    """README: train_shakespeare_char.py with CPU overrides; on a CPU train.py runs in fp32."""
    overrides = [
        "--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1",
        "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128",
        "--max_iters=2000", "--lr_decay_iters=2000", "--dropout=0.0",
    ]
    loaded = load_config(write(tmp_path, TRAIN_SHAKESPEARE_CHAR), overrides)
    assert loaded["precision"] == "fp32" and loaded["compile"] is False
    assert (loaded["seq_len"], loaded["micro_batch"], loaded["max_iters"]) == (64, 12, 2000)
    shape = (loaded["n_layer"], loaded["n_head"], loaded["n_embd"], loaded["vocab_size"])
    assert shape == (4, 4, 128, 65)
    r = run(config=write(tmp_path, TRAIN_SHAKESPEARE_CHAR), config_overrides=overrides)
    assert r["n_params"].m_as("param") == count_by_module(4, 128, 65, 64, False)


# --- overrides as configurator.py reads them -------------------------------------------------


@pytest.mark.parametrize(
    "override, expected",
    [
        ("--batch_size=32", {"micro_batch": 32}),
        ("--dtype=float16", {"precision": "amp-fp16"}),
        ("--dtype='float32'", {"precision": "fp32"}),
        ("--dtype=bfloat16", {"precision": "amp-bf16"}),
        ("--compile=False", {"compile": False}),
        ("--bias=True", {"bias": True}),
        ("--init_from=gpt2-medium", {"n_layer": 24, "n_head": 16, "n_embd": 1024,
                                     "vocab_size": 50257, "bias": True, "seq_len": 1024}),
        ("--wandb_run_name=run7", {}),
        ("--learning_rate=1e-3", {}),
    ],
)
def test_overrides(override, expected):
    assert load_config(None, [override]) == expected


@pytest.mark.parametrize(
    "override, message",
    [
        ("--batch_size=32.0", "batch_size must be a int"),  # configurator.py L42 compares types
        ("--compile=1", "compile must be a bool"),
        ("--n_layers=4", "did you mean: n_layer"),
        ("--batch_size", "--key=value"),
        ("--wandb_run_name=a=b", "more than one '='"),
        ("--dtype=float8", "dtype 'float8'"),
        ("--init_from=gpt3", "init_from 'gpt3'"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(UserError, match=message):
        load_config(None, [override])


def test_checkpoint_cannot_grow_its_context():
    with pytest.raises(UserError, match="block_size 2048"):
        load_config(None, ["--init_from=gpt2", "--block_size=2048"])
    assert load_config(None, ["--init_from=gpt2", "--block_size=512"])["seq_len"] == 512


# --- what the reader refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("n_layer = 6\nn_embd = 64 * n_layer\n", r"config.py:2: n_embd = 64 \* n_layer is not a lit"),
        ("block_size = int('256')\n", r"config.py:1: block_size = int\('256'\) is not a literal"),
        ("import time\nmax_iters = int(time.time())\n", r"config.py:2: max_iters"),
        ("n_layers = 6\n", r"config.py:1: unknown nanoGPT config key 'n_layers'; did you mean: n_lay"),
        ("gradient_accumulation_step = 8\n", r"did you mean: gradient_accumulation_steps"),
        ("batch_size = 12.0\n", r"config.py:1: batch_size must be a int"),
        ("if True:\n    n_layer = 2\n", r"config.py:1: .*not an if statement"),
        ("import os\n", r"config.py:1: .*import"),
        ("n_layer += 1\n", r"augmented assignment"),
        ("n_layer = (\n", r"config.py:1: not valid Python"),
    ],
)
def test_refused_config_files(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        load_config(write(tmp_path, text), [])


def test_messages_are_one_line(tmp_path):
    with pytest.raises(UserError) as info:
        load_config(write(tmp_path, "n_layer = 6\nn_embd = 64 * n_layer\n"), [])
    assert "\n" not in str(info.value)


def test_non_literal_of_a_key_that_costs_nothing_is_skipped(tmp_path):
    text = (
        "import time\n"
        "out_dir = 'out-' + str(time.time())\n"
        "wandb_run_name = 'x' + str(1)\n"
        "n_layer = 2 * 3\n"
    )
    assert load_config(write(tmp_path, text), []) == {"n_layer": 6}


def test_literal_arithmetic(tmp_path):
    text = (
        "batch_size = 1024 * 12 // 96\n"
        "block_size = 2 ** 8\n"
        "wandb_run_name = 'a' + 'b'\n"
        "learning_rate = -(-6e-4)\n"
    )
    assert load_config(write(tmp_path, text), []) == {"micro_batch": 128, "seq_len": 256}


def test_missing_file():
    with pytest.raises(UserError, match="cannot read nanoGPT config"):
        load_config("/nonexistent/config.py", [])


# --- through the command line -------------------------------------------------------------------


def test_cli_config_and_overrides(tmp_path, cli):
    import json

    path = write(tmp_path, TRAIN_SHAKESPEARE_CHAR)
    code, out, err = cli("estimate", "nanogpt", "--config", path, "--device=cpu", "--compile=False",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["inputs"]["precision"]["value"] == "fp32"
    assert data["results"]["n_params"] == {"value": 10_745_088, "unit": "param"}


def test_cli_non_literal_is_one_line(tmp_path, cli):
    path = write(tmp_path, "import time\nmax_iters = int(time.time())\n")
    code, out, err = cli("estimate", "nanogpt", "--config", path)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "config.py:2: max_iters" in err
