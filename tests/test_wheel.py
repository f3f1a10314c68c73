"""The wheel carries the engine, the built-in plugins and the hardware data, and they load.

Builds the wheel, installs it into a new virtual environment and runs the installed `costmodel`
from outside the source tree.
"""

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_dir = tmp_path_factory.mktemp("src") / "costmodel"
    shutil.copytree(ROOT, build_dir, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(build_dir)],
                   check=True, capture_output=True, text=True)
    (path,) = out.glob("costmodel-*.whl")
    return path


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "costmodel/units.txt" in names
    assert "costmodel/prebuilt_registry.pickle" in names and "costmodel/prebuilt_registry.py" in names
    assert "costmodel_core/__init__.py" in names
    cards = [n for n in names if n.startswith("costmodel/catalogue/") and n.endswith(".toml")]
    assert len(cards) >= 16
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[costmodel]" in entry_points and "core = costmodel_core" in entry_points


def test_installed_wheel_loads_plugins_and_hardware(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)  # ensurepip alone costs 5 s of CPU
    py = env_dir / "bin" / "python"
    # Dependencies, pip among them, come from this interpreter's site-packages (a plain path: its
    # .pth files, such as an editable install of this very project, are not processed); costmodel
    # from the wheel, installed into the new environment by `python -m pip` run there.
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "deps-of-the-test-runner.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, text=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COSTMODEL_", "PYTHON"))}
    exe = str(env_dir / "bin" / "costmodel")

    def run(*args):
        done = subprocess.run([exe, *args], cwd=tmp_path, env=clean, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run([str(py), "-c", "import costmodel, costmodel_core; print(costmodel.__file__)"],
                           cwd=tmp_path, env=clean, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where
    plugins = {p["name"]: p for p in json.loads(run("plugins", "--json"))}
    assert plugins["core"]["error"] is None
    assert all(p["error"] is None for p in plugins.values())
    cards = {c["name"] for c in json.loads(run("hardware", "--json"))}
    assert {"RTX 4070", "H100 SXM", "A100 80GB SXM"} <= cards
    families = {f["name"] for f in json.loads(run("families", "--json"))}
    expected = {name for name in ("nanogpt", "nanochat") if (ROOT / "plugins" / f"costmodel_{name}").exists()}
    assert expected <= families
    # the registry the wheel ships fits the installed sources: a first run builds nothing
    first = subprocess.run(
        [str(py), "-c", "from costmodel import loading, prebuilt; "
                        "print(prebuilt.read(loading._entry_point_modules()) is not None)"],
        cwd=tmp_path, env=clean, capture_output=True, text=True, check=True).stdout
    assert first.strip() == "True"
