"""costmodel: what will this training run need? FLOPs, memory, time, energy and money.

The engine knows quantities, formulas and how to compose them; model families, recipes and
hardware come from plugins. `costmodel.api` is the Python API; `hookimpl` marks plugin hooks.
Importing this package is cheap: sympy and pint load only when a question is asked.
"""

from costmodel.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "estimate", "solve", "explain", "families", "hardware", "plugins"]


def __getattr__(name: str):
    if name in ("estimate", "solve", "explain", "families", "hardware", "plugins"):
        from costmodel import api

        return getattr(api, name)
    raise AttributeError(f"module 'costmodel' has no attribute {name!r}")
