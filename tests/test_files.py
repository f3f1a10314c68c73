"""No command loses a user's file: --output and --plot refuse existing files without --force, never
write through a symbolic link, never write over an input of the same command, and write atomically."""

import os

import pytest

from costmodel import files
from costmodel.errors import UserError

EXPLAIN = ("explain", "nanogpt", "--preset", "gpt2", "--target", "flops_per_token")
SWEEP = ("sweep", "nanogpt", "--preset", "gpt2", "--grid", "micro_batch=1,2", "--target", "n_params",
         "--format", "csv")


def test_new_output_is_written(cli, tmp_path):
    out = tmp_path / "d.txt"
    code, _, err = cli(*EXPLAIN, "--output", str(out))
    assert code == 0 and "flops_per_token" in out.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name != "d.txt"]  # no temporary file left


@pytest.mark.parametrize("command", [EXPLAIN, SWEEP])
def test_existing_file_is_refused_without_force(cli, tmp_path, command):
    out = tmp_path / "keep.txt"
    out.write_text("precious")
    code, _, err = cli(*command, "--output", str(out))
    assert code == 1 and "exists; add --force" in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "precious"
    code, _, err = cli(*command, "--output", str(out), "--force")
    assert code == 0 and out.read_text() != "precious"


def test_symlink_is_never_written_through(cli, tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    code, _, err = cli(*SWEEP, "--output", str(link))
    assert code == 1 and "symbolic link" in err
    code, _, err = cli(*SWEEP, "--output", str(link), "--force")
    assert code == 0
    assert target.read_text() == "precious"  # the link was replaced, not its target
    assert not link.is_symlink() and "n_params" in link.read_text()


def test_dangling_symlink_is_refused(cli, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "nowhere" / "x.txt")
    code, _, err = cli(*SWEEP, "--output", str(link))
    assert code == 1 and "symbolic link" in err


def test_input_of_the_same_command_is_never_written_even_with_force(cli, tmp_path):
    config = tmp_path / "train_gpt2.py"
    config.write_text("n_layer = 12\nn_head = 12\nn_embd = 768\n")
    for extra in ((), ("--force",)):
        code, _, err = cli("explain", "nanogpt", "--config", str(config), "--target", "n_params",
                           "--output", str(config), *extra)
        assert code == 1 and "input of this command" in err
    assert config.read_text().startswith("n_layer = 12")
    link = tmp_path / "alias.py"  # the same file under another name
    link.symlink_to(config)
    code, _, err = cli("explain", "nanogpt", "--config", str(link), "--target", "n_params",
                       "--output", str(config), "--force")
    assert code == 1 and "input of this command" in err
    assert config.read_text().startswith("n_layer = 12")


def test_plugin_folder_is_an_input(cli, tmp_path, toy):
    folder = tmp_path / "plugins"
    folder.mkdir()
    family = folder / "toy.toml"
    family.write_text(open(toy).read())
    code, _, err = cli("explain", "toy", "--plugin", str(folder), "--target", "n_params",
                       "--output", str(folder / "toy.toml"), "--force")
    assert code == 1 and "input of this command" in err


def test_fifo_and_directory_outputs_are_refused(cli, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = cli(*SWEEP, "--output", str(fifo), "--force")
    assert code == 1 and "named pipe" in err
    code, _, err = cli(*SWEEP, "--output", str(tmp_path), "--force")
    assert code == 1 and "directory" in err


def test_a_failed_write_leaves_the_old_file(tmp_path):
    out = tmp_path / "keep.txt"
    out.write_text("precious")

    def chunks():
        yield "half a file"
        raise UserError("interrupted")

    with pytest.raises(UserError):
        files.write_text(out, chunks(), force=True)
    assert out.read_text() == "precious" and os.listdir(tmp_path) == ["keep.txt"]


def test_written_file_gets_the_usual_permissions(tmp_path):
    out = tmp_path / "new.txt"
    files.write_text(out, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask


def test_missing_folder_is_one_line(cli, tmp_path):
    code, _, err = cli(*SWEEP, "--output", str(tmp_path / "no" / "such" / "x.csv"))
    assert code == 1 and "does not exist" in err
