"""Bad input: one line on stderr, exit code 1, never a traceback, nothing executed."""

import pytest

BAD = [
    (["estimate", "toyy"], "unknown family 'toyy'; did you mean: toy"),
    (["estimate", "toy", "--preset", "smal"], "did you mean: small"),
    (["estimate", "toy", "--set", "n_layr=3"], "unknown quantity 'n_layr'; did you mean: n_layer"),
    (["estimate", "toy", "--set", "micro_batch=3 GiB"], "micro_batch: '3 GiB' has the wrong unit"),
    (["estimate", "toy", "--set", "micro_batch=-4"], "micro_batch: must be greater than 0"),
    (["estimate", "toy", "--set", "micro_batch=0"], "micro_batch: must be greater than 0"),
    (["estimate", "toy", "--set", "micro_batch=2.5"], "must be a whole number"),
    (["estimate", "toy", "--set", "mfu=nan"], "not a finite number"),
    (["estimate", "toy", "--set", "mfu=inf"], "not a finite number"),
    (["estimate", "toy", "--set", "micro_batch"], "write NAME=VALUE"),
    (["estimate", "toy", "--set", "precision=fp64"], "unknown choice for precision 'fp64'"),
    (["estimate", "toy", "-H", "rtx-4700"], "unknown hardware 'rtx-4700'"),
    (["estimate", "toy", "--bogus"], "unexpected argument '--bogus'"),
    (["explain", "toy", "--target", "n_parms"], "did you mean: n_params"),
    (["explain", "toy", "--target", "mem_peak", "--format", "pdf"], "unknown format 'pdf'"),
    (["solve", "toy", "--find", "iters", "--maximize", "iters"], "exactly one of"),
    (["solve", "toy", "--maximize", "micro_batch", "--subject-to", "mem_peak < 3"], "NAME <= NAME|VALUE"),
    (["solve", "toy", "--maximize", "micro_batch", "--subject-to", "mem_peak <= wall_time"], "not comparable"),
    (["estimate", "toy", "--frobnicate=1", "--config", "x.py"], "reads no config files"),
]


@pytest.mark.parametrize("args, message", BAD)
def test_one_line_and_exit_1(args, message, toy, cli):
    code, out, err = cli(*args[:2], "--plugin", toy, *args[2:])
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def write(tmp_path, text):
    path = tmp_path / "fam.toml"
    path.write_text(text)
    return str(path)


HEAD = '[family]\nname = "f"\ndoc = "d"\nsource = "s"\n[quantities.a]\ndoc = "a"\n[defaults]\na = 2\n'


@pytest.mark.parametrize(
    "body, message",
    [
        ("[family\n", "malformed TOML"),
        ('[family]\nname = "f"\n', "doc must be non-empty text"),
        (HEAD + '[[formulas]]\ntarget = "n_params"\nexpr = "__import__(\'os\').system(\'touch PWNED\')"\n'
         'doc = "d"\nsource = "s"\n', "not allowed"),
        (HEAD + '[[formulas]]\ntarget = "n_params"\nexpr = "a.real"\ndoc = "d"\nsource = "s"\n', "Attribute is not allowed"),
        (HEAD + '[[formulas]]\ntarget = "wall_time"\nexpr = "a * param"\ndoc = "d"\nsource = "s"\n', "dimension error"),
        (HEAD + '[[formulas]]\ntarget = "n_params"\nexpr = "a * param"\ndoc = "d"\n', "missing"),
        (HEAD + "[oops]\nx = 1\n", "unknown key(s) oops"),
    ],
)
def test_malformed_toml_family(body, message, tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, body.replace("PWNED", str(tmp_path / "PWNED")))
    code, out, err = cli("estimate", "f", "--plugin", path)
    assert code == 1, err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "PWNED").exists()


def test_no_arguments_prints_help(cli):
    code, out, err = cli()
    assert code == 0 and "estimate" in out


def test_internal_errors_stay_one_line(cli, monkeypatch, toy):
    from costmodel import api

    def boom(*a, **k):
        raise RuntimeError("simulated bug\nsecond line")

    monkeypatch.setattr(api, "estimate", boom)
    code, out, err = cli("estimate", "toy", "--plugin", toy)
    assert code == 1 and err.count("\n") == 1 and "internal error (RuntimeError: simulated bug)" in err
