"""The llama family, declared in TOML alone (llama.toml, next to this file).

The family has no code: this module only hands the TOML file to the engine's reader, the one a
user's own `--plugin llama.toml` goes through, so the built-in and a copy give identical results.
"""

from __future__ import annotations

from importlib import resources

from costmodel import hookimpl


@hookimpl
def register_families(register):
    """llama: Llama 2/3, Mistral, Qwen2, SmolLM and TinyLlama shapes."""
    from costmodel.toml_files import read_family

    with resources.as_file(resources.files(__package__) / "llama.toml") as path:
        register(read_family(str(path)))
