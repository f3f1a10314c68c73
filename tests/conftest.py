"""Test isolation: only this project's plugins load; helpers for the CLI and the toy family."""

import os
import tempfile
from pathlib import Path

import pytest

BUILTINS = "core,nanogpt,nanochat,memory,time,llama"
DATA = Path(__file__).parent / "data"
TOY = str(DATA / "toy.toml")

os.environ["COSTMODEL_PLUGINS"] = BUILTINS  # third-party plugins on the machine stay out
os.environ.pop("COSTMODEL_PLUGIN_PATH", None)
os.environ["COSTMODEL_CACHE_DIR"] = tempfile.mkdtemp(prefix="costmodel-test-cache-")


@pytest.fixture
def fresh_registry():
    """For tests that change what loads (env, throwaway plugins): rebuild before and after."""
    from costmodel import api

    api.reload()
    yield
    api.reload()


@pytest.fixture
def toy() -> str:
    return TOY


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from costmodel.cli import main

    def run(*args: str):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run
