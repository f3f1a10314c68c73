"""`costmodel calibrate`: parsing nanoGPT and nanochat logs, statistics, true MFU, time left.

The logs are written here, line by line in the formats of nanoGPT train.py@3adf61e154c3 L265/L327
and nanochat scripts/base_train.py (v0 3a5e0bc L293, head 92d63d4 L567), each with a garbled line
and a last line cut off mid-write. Expected numbers are computed here by hand.
"""

from __future__ import annotations

import json
import statistics

import pytest
import typer

from costmodel import calibrate as cal
from costmodel.errors import UserError

NANOGPT_LOG = """\
tokens per iteration will be: 491,520
number of parameters: 123.59M
compiling the model... (takes a ~minute)
step 0: train loss 10.9870, val loss 10.9890
iter 0: loss 10.9900, time 31250.00ms, mfu -100.00%
iter 1: loss 10.1000, time 600.00ms, mfu -100.00%
iter 2: loss 9.8000, time 580.00ms, mfu -100.00%
iter 3: loss 9.5000, time 575.00ms, mfu -100.00%
iter 4: loss 9.3000, time 585.00ms, mfu -100.00%
iter 5: loss 9.1000, time 570.00ms, mfu 29.60%
iter 6: loss 9.0000, time 572.0
iter 7: loss 8.9000, time 574.00ms, mfu 29.55%
iter 8: loss oops
iter 9: loss 8.7000, time 576.00ms, mfu 29.50%
step 10: train loss 8.6000, val loss 8.6500
iter 10: loss 8.6000, time 9000.00ms, mfu 27.00%
iter 11: loss 8.5000, time 578.00ms, mfu 27.10%
iter 12: loss 8.4000, time 57"""

# the published d32 run's header and first step lines (karpathy/nanochat run1000.sh@c75fe54 L47-L62),
# more steps in the same format, a validation line, and a last line cut off
NANOCHAT_V0_LOG = """\
Vocab size: 65,536
Tokens / micro-batch / rank: 8 x 2048 = 16,384
Tokens / micro-batch: 131,072
Total batch size 524,288 => gradient accumulation steps: 4
Number of parameters: 1,879,048,192
Estimated FLOPs per token: 1.207960e+10
Calculated number of iterations from target data:param ratio: 71,680
step 00000/71680 (0.00%) | loss: 11.090355 | lrm: 1.00 | dt: 45210.11ms | tok/sec: 2,899 | mfu: 1.77 | total time: 0.00m
step 00001/71680 (0.00%) | loss: 10.812000 | lrm: 1.00 | dt: 1580.00ms | tok/sec: 82,956 | mfu: 50.66 | total time: 0.00m
step 00004/71680 (0.01%) | loss: 8.813754 | lrm: 1.00 | dt: 1571.88ms | tok/sec: 83,385 | mfu: 50.92 | total time: 0.00m
step 00005/71680 (0.01%) | loss: 8.488074 | lrm: 1.00 | dt: 1572.76ms | tok/sec: 83,338 | mfu: 50.89 | total time: 0.00m
Step 00010 | Validation bpb: 1.2345
step 00010/71680 (0.01%) | loss: 7.2 | lrm: 1.00 | dt: 1569.00ms | tok/sec: 83,560 | mfu: 51.02 | total time: 0.00m
step 00011/71680 (0.02%) | loss: 7.1 | lrm: 1.00 | dt: 1570.00ms | tok/sec: 83,460 | mfu: 50.97 | total time: 0.03m
step 00012/71680 (0.02%) | loss: 7.0 | lrm: 1.00 | dt: 1574.00ms | tok/sec: 83,248 | mfu: 50.84 | total time: 0.05m
step 00013/71680 (0.02%) | loss: 6.9 | lrm: 1.00 | dt: 1575.50ms | tok/sec: 83,169 | mfu: 50.80 | total time: 0.08m
step 00014/71680 (0.02%) | loss: 6.8 | lrm: 1.00 | dt: 15
"""

# the newest format: bf16_mfu, epoch, eta (and a grad-norm field, as some versions print)
NANOCHAT_HEAD_LOG = """\
step 00000/09600 (0.00%) | loss: 10.4 | lrm: 1.00 | dt: 60000.00ms | tok/sec: 34,952 | bf16_mfu: 0.40 | epoch: 0 pq: 0 rg: 0 | total time: 0.00m
step 00011/09600 (0.11%) | loss: 7.1 | grad norm: 1.2345 | lrm: 1.00 | dt: 5000.00ms | tok/sec: 419,430 | bf16_mfu: 55.00 | epoch: 0 pq: 0 rg: 1 | total time: 0.08m | eta: 799.1m
step 00012/09600 (0.12%) | loss: 7.0 | lrm: 1.00 | dt: 5100.00ms | tok/sec: 411,206 | bf16_mfu: 53.90 | epoch: 0 pq: 0 rg: 1 | total time: 0.17m | eta: 808.3m
step 00013/09600 (0.13%) | loss: 6.9 | lrm: 1.00 | dt: 4900.00ms | tok/sec: 428,000 | bf16_mfu: 56.1 | epoch: 0 pq: 0 rg: 1 | total time: 0.25m | eta: 783.0m
step 00014/09600 (0.14%) | loss: 6.8 | lrm: 1.00 | dt: oops | tok/sec: 1 | bf16_mfu: 1 | epoch: 0 pq: 0 rg: 1 | total time: 0.25m
"""

NANOGPT_SCENARIO = dict(preset="gpt2", hardware="a100-40gb-sxm",
                        values={"n_gpus": 8, "vocab_size": 50304, "bias": False})
D32_V0 = dict(preset="run1000")  # d32, v0, 8x H100 SXM


# --- parsing ------------------------------------------------------------------------------------


def test_parse_nanogpt_log():
    log = cal.parse_log(NANOGPT_LOG)
    assert log.format == "nanogpt"
    assert [s.step for s in log.steps] == [0, 1, 2, 3, 4, 5, 7, 9, 10, 11]
    assert log.steps[0].seconds == 31.25
    assert [n for n, _ in log.problems] == [11, 13, 18]  # cut off, garbled, cut off at the end
    assert [s.step for s in log.steps if s.after_eval] == [0, 10]  # "step N: train loss" came first
    assert log.header["tokens_per_iter"] == 491520
    assert log.header["n_params_reported"] == pytest.approx(123.59e6)


def test_parse_nanochat_v0_log():
    log = cal.parse_log(NANOCHAT_V0_LOG)
    assert log.format == "nanochat-v0"
    assert [s.step for s in log.steps] == [0, 1, 4, 5, 10, 11, 12, 13]
    assert log.steps[2].seconds == pytest.approx(1.57188)
    assert log.steps[2].mfu_printed == pytest.approx(50.92)
    assert log.steps[0].total == 71680
    assert [n for n, _ in log.problems] == [17]
    assert "cut off" in log.problems[0][1]
    assert log.header == {"tokens_per_iter": 524288, "n_params": 1879048192, "flops_per_token": 1.20796e10}


def test_parse_nanochat_head_log():
    log = cal.parse_log(NANOCHAT_HEAD_LOG)
    assert log.format == "nanochat"  # bf16_mfu: relative to nanochat's own GPU table
    assert [s.step for s in log.steps] == [0, 11, 12, 13]
    assert [s.seconds for s in log.steps[1:]] == [5.0, 5.1, 4.9]
    assert [n for n, _ in log.problems] == [5]


def test_lines_with_prefixes_and_windows_endings():
    log = cal.parse_log("[rank0]: iter 3: loss 2.0000, time 100.00ms, mfu 10.00%\r\n")
    assert [(s.step, s.seconds) for s in log.steps] == [(3, 0.1)]


def test_statistics_by_hand():
    s = cal.step_stats([4.0, 1.0, 3.0, 2.0, 10.0])
    assert s.median == 3.0
    assert s.mean == 4.0
    assert s.stdev == pytest.approx(statistics.stdev([1, 2, 3, 4, 10]))
    # linear interpolation: position 0.1 x 4 = 0.4 between 1 and 2; 0.9 x 4 = 3.6 between 4 and 10
    assert s.p10 == pytest.approx(1.4)
    assert s.p90 == pytest.approx(4 + 0.6 * 6)


# --- calibration against a scenario ----------------------------------------------------------------


def test_calibrate_nanogpt():
    c = cal.calibrate("nanogpt", "train.log", text=NANOGPT_LOG, **NANOGPT_SCENARIO)
    # warm-up: iterations 0-4 (nanoGPT waits 5 before its MFU); iter 10 follows an evaluation
    assert [s.step for s in c.used] == [5, 7, 9, 11]
    assert [s.step for s in c.dropped_eval] == [10]
    median = (0.574 + 0.576) / 2  # of 0.570, 0.574, 0.576, 0.578
    v = c.values
    assert v["iter_time"] == pytest.approx(median)
    # iteration 10's time holds one evaluation: 9 s - median; iteration 0's holds the same evaluation
    # (step 0) and the compilation: 31.25 s - median - one evaluation
    assert v["eval_time_each"] == pytest.approx(9.0 - median)
    assert v["compile_time"] == pytest.approx(31.25 - median - (9.0 - median))
    # true MFU on an A100 (312 TFLOP/s): nanoGPT's 6N + 12 L H Q T FLOP/token x 491,520 tokens per step
    # N without wpe, no biases, vocab 50,304: wte 50,304 x 768 + 12 blocks x (2 x 768 LayerNorm
    # + 768 x 2304 + 768 x 768 + 2 x 768 x 3072) + ln_f 768 = 123,587,328
    n = 50304 * 768 + 12 * (2 * 768 + 768 * 2304 + 768 * 768 + 2 * 768 * 3072) + 768
    assert n == 123_587_328
    flops = 6 * n + 12 * 12 * 12 * 64 * 1024  # = 854,770,176
    assert v["mfu"] == pytest.approx(flops * 491520 / (8 * 312e12 * median))
    assert v["mfu_printed"] == pytest.approx(0.29525)  # median of 29.60, 29.55, 29.50, 27.10
    assert v["tokens_per_second"] == pytest.approx(491520 / median)
    # nanoGPT runs iterations 0 .. max_iters = 600,000: after iteration 11, 599,989 are left, and the
    # evaluations at 20, 30, ..., 600,000 (every 10 steps, as the log's two evaluations are apart)
    assert v["iters_remaining"] == 599989
    assert v["evals_remaining"] == 600000 // 10 - 1
    assert v["eta"] == pytest.approx(599989 * median + 59999 * (9.0 - median))
    assert v["eta_p10"] <= v["eta"] <= v["eta_p90"]
    # the header agrees with the scenario; the log shows evaluations at train.py's default size, which
    # the family's defaults already hold (eval_iters = 200), so nothing is taken from the log
    assert c.notes == ()


def test_calibrate_nanochat_v0_true_mfu_and_eta():
    c = cal.calibrate("nanochat", "base.log", text=NANOCHAT_V0_LOG, **D32_V0)
    assert [s.step for s in c.used] == [10, 11, 12, 13]  # nanochat's own timing skips steps 0-9
    median = (1.570 + 1.574) / 2
    v = c.values
    assert v["iter_time"] == pytest.approx(median)
    # 1.20796e10 x 524,288 / (8 x 989.4e12 x 1.572 s) = 50.9 %, on the real H100 peak (989.4, not 989)
    assert v["mfu"] == pytest.approx(12079595520 * 524288 / (8 * 989.4e12 * median))
    assert v["mfu_printed_rebased"] == pytest.approx(0.509 * 989e12 / 989.4e12, rel=2e-3)
    # steps 0 .. 71,679; after step 13: 71,666 left
    assert v["iters_remaining"] == 71666
    assert v["eta"] == pytest.approx(71666 * median)
    assert v["train_time"] == pytest.approx(71680 * median)  # ~31.3 h, as run1000.sh estimates
    assert v["train_time"] / 3600 == pytest.approx(31.3, abs=0.1)
    assert not c.notes


def test_the_log_s_header_makes_the_scenario_the_run():
    """Only --preset d32: the log's v0 format and its header (8 x 2048 tokens per rank, 131,072 per
    micro-step: 8 GPUs; total batch 524,288) make the scenario the published v0 run."""
    c = cal.calibrate("nanochat", "base.log", text=NANOCHAT_V0_LOG, preset="d32", hardware="h100-sxm")
    assert c.log.settings == {"micro_batch": 8, "seq_len": 2048, "total_batch_size": 524288, "n_gpus": 8,
                              "version": "v0"}
    assert c.notes == ("settings taken from the log: n_gpus=8",)  # the d32 preset is v0 already
    median = (1.570 + 1.574) / 2
    assert c.values["mfu_recommended"] == pytest.approx(12079595520 * 524288 / (8 * 989.4e12 * median))


def test_calibrate_refuses_a_scenario_faster_than_the_card_allows():
    # the user insists on head's d32 on 2 GPUs: each would do 4x the logged run's work per step, so the
    # logged 1.57 s steps are shorter than the scenario's step at the card's whole peak: one line, refused
    with pytest.raises(UserError) as err:
        cal.calibrate("nanochat", "base.log", text=NANOCHAT_V0_LOG, preset="d32", hardware="h100-sxm",
                      values={"version": "head", "n_gpus": 2})
    text = str(err.value)
    assert "\n" not in text
    assert "the logged steps (median 1.572 s) are shorter than this scenario's step at the card's whole peak" in text
    assert "the log's header says version = v0, but --set gives head" in text
    assert "the log's header says n_gpus = 8, but --set gives 2" in text
    assert "the log says n_params = 1,879,048,192" in text  # head's d32 is another model
    assert "calibrate again" in text


def test_calibrate_refuses_a_log_mostly_faster_than_the_card():
    """When most step lines are shorter than the step at the card's whole peak, they are not skipped
    (that would keep the few plausible ones): the scenario is not the run, refused. Hand arithmetic:
    the gpt2 preset does 6 x 124,337,664 (+ attention) FLOPs per token on 491,520 tokens per step; at
    312 TFLOP/s a step takes at least 6 x 124.3e6 x 491,520 / 312e12 = 1.175 s > 5 ms."""
    lines = ["tokens per iteration will be: 491,520"]
    lines += [f"iter {i}: loss 9.0, time {600.0 if i % 4 == 0 else 5.0:.2f}ms, mfu 29.60%" for i in range(30)]
    with pytest.raises(UserError, match=r"the logged steps \(median 5 ms\) are shorter than"):
        cal.calibrate("nanogpt", "fast.log", text="\n".join(lines), preset="gpt2", hardware="a100-40gb-sxm")


def test_calibrate_without_a_card_still_times():
    c = cal.calibrate("nanochat", "base.log", text=NANOCHAT_V0_LOG, preset="d32", values={"version": "v0"})
    assert "mfu" not in c.values
    assert c.values["eta"] > 0
    assert any("--hardware" in n for n in c.notes)


def test_warmup_option():
    c = cal.calibrate("nanochat", "base.log", text=NANOCHAT_V0_LOG, warmup=1, **D32_V0)
    assert [s.step for s in c.used] == [1, 4, 5, 10, 11, 12, 13]


def test_no_usable_lines_is_an_error(tmp_path):
    path = tmp_path / "empty.log"
    path.write_text("hello\nnothing to see\n")
    with pytest.raises(UserError, match="no step lines of a known log format"):
        cal.calibrate("nanogpt", path, **NANOGPT_SCENARIO)
    with pytest.raises(UserError, match="cannot read"):
        cal.calibrate("nanogpt", tmp_path / "missing.log", **NANOGPT_SCENARIO)
    with pytest.raises(UserError, match="warm-up"):
        cal.calibrate("nanogpt", "x", text="iter 0: loss 1.0, time 5.00ms, mfu -100.00%\n", **NANOGPT_SCENARIO)


# --- the command --------------------------------------------------------------------------------


@pytest.fixture
def run_cli(capsys):
    """The calibrate command on the real app (registered here until costmodel/cli wires it)."""
    from costmodel.cli import app, calibrate as command, main

    if not any(getattr(c.callback, "__name__", "") == "calibrate" for c in app.registered_commands):
        command.register(app)

    def run(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_text_report_and_notes(run_cli, tmp_path):
    log = tmp_path / "train.log"
    log.write_text(NANOGPT_LOG)
    code, out, err = run_cli("calibrate", "nanogpt", "--preset", "gpt2", "-H", "a100-40gb-sxm", "--set", "n_gpus=8",
                             "--set", "vocab_size=50304", "--set", "bias=false", "--log", str(log))
    assert code == 0, err
    assert "true MFU on this card" in out and "time left" in out
    assert f"{log}:11:" in err and f"{log}:13:" in err and f"{log}:18:" in err
    assert "note:" not in out  # diagnostics go to stderr only


def test_cli_json(run_cli, tmp_path):
    log = tmp_path / "base.log"
    log.write_text(NANOCHAT_V0_LOG)
    code, out, err = run_cli("calibrate", "nanochat", "--preset", "d32", "-H", "8xh100-sxm",
                             "--log", str(log), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["format"] == "nanochat-v0"
    assert data["steps_used"] == 4
    assert data["problems"] == [{"line": 17, "message": data["problems"][0]["message"]}]
    assert data["results"]["iter_time"] == {"value": pytest.approx(1.572), "unit": "s/iteration"}
    assert 0.5 < data["results"]["mfu"]["value"] < 0.52


def test_cli_log_without_steps_is_one_line_exit_1(run_cli, tmp_path):
    log = tmp_path / "empty.log"
    log.write_text("nothing here\n")
    code, out, err = run_cli("calibrate", "nanogpt", "--preset", "gpt2", "--log", str(log))
    assert code == 1
    assert out == ""
    assert err.startswith("error:") and err.count("\n") == 1


def test_cli_impossible_steps_are_one_line_exit_1(run_cli, tmp_path):
    log = tmp_path / "base.log"
    log.write_text(NANOCHAT_V0_LOG)
    code, out, err = run_cli("calibrate", "nanochat", "--preset", "d32", "-H", "h100-sxm", "--set", "n_gpus=2",
                             "--set", "version=head", "--log", str(log))
    assert code == 1
    assert out == ""
    assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err
    assert "the scenario is not the logged run" in err


def test_register_adds_the_command():
    from costmodel.cli import calibrate as command

    app = typer.Typer()
    command.register(app)
    assert [c.callback.__name__ for c in app.registered_commands] == ["calibrate"]


def test_calibrate_recommends_no_mfu_above_the_plausible_ceiling(cli, tmp_path):
    """The logged run (8 H100s at 50.9 % MFU) read as 2 B200s: each would do 4x the work at 2,250
    TFLOP/s, 50.9 % x 4 x 989.4 / 2,250 = 89.5 %: possible on the card (HFU < 1) but above what a
    training run reaches; the CLI names the mismatch instead of recommending it."""
    c = cal.calibrate("nanochat", "base.log", text=NANOCHAT_V0_LOG, preset="d32", hardware="b200",
                      values={"version": "v0", "n_gpus": 2})
    ceiling = 0.86
    assert ceiling < c.values["mfu"] < 1 and c.values["hfu"] < 1
    assert "mfu_recommended" not in c.values
    assert any("above the 86% any training run plausibly reaches" in n for n in c.notes)
    log = tmp_path / "base.log"
    log.write_text(NANOCHAT_V0_LOG)
    code, out, err = cli("calibrate", "nanochat", "--preset", "d32", "--set", "version=v0", "--set", "n_gpus=2",
                         "-H", "b200", "--log", str(log))
    assert code == 0, err
    assert "--set mfu=" not in out and "no --set mfu to recommend" in out
    code, out, err = cli("calibrate", "nanochat", "--preset", "d32", "--set", "version=v0", "-H", "h100-sxm",
                         "--log", str(log))
    assert code == 0 and "to use it: --set mfu=0.50" in out


def test_step_times_must_be_positive():
    """A zero or negative step time is no duration: the line is named and skipped, whatever the format."""
    from costmodel.calibrate import LogFormat, LogReading, Step

    def read(lines):
        steps = [Step(line=n, step=n, seconds=float(t), loss=None, mfu_printed=None)
                 for n, t in enumerate(lines, start=1)]
        return LogReading(format="toy", steps=tuple(steps))

    log = cal.parse_log("1.5\n0\n-2\nnan\n1.6\n", [LogFormat(name="toy", doc="d", source="s", read=read)])
    assert [s.seconds for s in log.steps] == [1.5, 1.6]
    assert [n for n, _ in log.problems] == [2, 3, 4]
    assert all("not a positive duration" in m for _, m in log.problems)


SHAKESPEARE_LOG = """\
Overriding config with config/train_shakespeare_char.py:
# train a miniature character-level shakespeare model
out_dir = 'out-shakespeare-char'
eval_interval = 250 # keep frequent because we'll overfit
eval_iters = 200
log_interval = 10
always_save_checkpoint = False
wandb_log = False # override via command line if you like
dataset = 'shakespeare_char'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256 # context of up to 256 previous characters
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

Overriding: max_iters = 2000
tokens per iteration will be: 16,384
found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)
Initializing a new model from scratch
number of parameters: 10.65M
compiling the model... (takes a ~minute)
step 0: train loss 4.2874, val loss 4.2823
iter 0: loss 4.2654, time 30000.00ms, mfu -100.00%
iter 10: loss 3.2457, time 30.00ms, mfu -100.00%
iter 20: loss 2.7914, time 32.00ms, mfu 10.00%
iter 30: loss 2.6356, time 31.00ms, mfu 10.00%
iter 40: loss 2.5527, time 33.00ms, mfu 10.00%
iter 50: loss 2.5281, time 31.00ms, mfu 10.00%
iter 60: loss 2.4919, time 30.00ms, mfu 10.00%
"""


def test_nanogpt_settings_from_the_log_header():
    """The printed config file and the override become the scenario; nothing executed."""
    log = cal.parse_log(SHAKESPEARE_LOG)
    assert log.settings == {"micro_batch": 64, "seq_len": 256, "n_layer": 6, "n_head": 6, "n_embd": 384,
                            "max_iters": 2000, "gradient_accumulation_steps": 1, "vocab_size": 65,
                            "eval_interval": 250, "eval_iters": 200, "dropout": 0.2}
    assert log.eval_interval == 250 and not log.problems
    c = cal.calibrate("nanogpt", "train.log", text=SHAKESPEARE_LOG, hardware="rtx-4070")
    v = c.values
    # used: iterations 10-60 (the warm-up, iterations 0-4, holds iteration 0); median of 30, 32, 31, 33, 31, 30 ms
    median = 0.031
    assert v["iter_time"] == pytest.approx(median)
    # one evaluation, estimated (no later one in the log): 2 x 200 forward passes of a third of a
    # micro-step (grad_accum 1): 2 x 200 x 31 ms / 3 = 4.133 s; compilation is the rest of iteration 0
    each = 2 * 200 * median / 3
    assert v["eval_time_each"] == pytest.approx(each)
    assert v["compile_time"] == pytest.approx(30.0 - median - each)
    # iterations 0 .. 2000; after 60: 1,940 left and the evaluations at 250, 500, ..., 2000 (8)
    assert v["iters_remaining"] == 1940 and v["evals_remaining"] == 8
    assert v["eta"] == pytest.approx(1940 * median + 8 * each)
    # the header's tokens per iteration (64 x 256) agree with the scenario built from it
    assert not any("the log says" in n for n in c.notes)
    assert any(n.startswith("settings taken from the log: ") and "micro_batch=64" in n for n in c.notes)


def test_a_user_setting_wins_over_the_log_and_is_named():
    c = cal.calibrate("nanogpt", "train.log", text=SHAKESPEARE_LOG, hardware="rtx-4070",
                      values={"micro_batch": 32})
    assert any("the log's header says micro_batch = 64, but --set gives 32" in n for n in c.notes)
    assert any("tokens_per_iter = 16,384" in n for n in c.notes)  # and the header disagrees with it


def test_impossible_and_garbled_step_lines_are_reported_and_skipped():
    """gpt2 with batch 12 x 1024 tokens on an RTX 4070 (58.3 TFLOP/s bf16 dense): a step takes at
    least 12 x 1024 x 855.2M FLOP / 58.3T FLOP/s = 180 ms at the card's whole peak. Lines of 1 ns,
    0, a negative time and a garbled number are each named and skipped; the others are used."""
    lines = ["iter 0: loss 10.9, time 5000.00ms, mfu -100.00%",
             "iter 1: loss 10.1, time 1.2.3ms, mfu -100.00%",
             "iter 2: loss 9.1, time 300.00ms, mfu 20.00%",
             "iter 3: loss 9.0, time -300.00ms, mfu 20.00%",
             "iter 4: loss 9.0, time 0.000001ms, mfu 20.00%",
             "iter 5: loss 9.0, time 310.00ms, mfu 20.00%",
             "iter 6: loss 9.0, time 0ms, mfu 20.00%",
             "iter 7: loss 9.0, time 305.00ms, mfu 20.00%"]
    c = cal.calibrate("nanogpt", "train.log", text="\n".join(lines) + "\n", warmup=1, preset="gpt2",
                      hardware="rtx-4070", values={"batch_size": 12, "gradient_accumulation_steps": 1})
    assert [s.step for s in c.used] == [2, 5, 7]
    skipped = {line for line, _ in c.log.problems}
    assert {2, 4, 5, 7} <= skipped
    assert any("shorter than" in m and "not possible" in m for line, m in c.log.problems if line == 5)
    assert 0 < c.values["hfu"] < 1
