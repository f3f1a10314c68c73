"""The two upstream states this family follows, and how formulas cite them.

`v0` is karpathy/nanochat at fae3aca9519a (2025-10-15), the commit that added run1000.sh: its comment
block quotes the base_train log of the published d32 run (1,879,048,192 parameters, 71,680 steps on
8xH100). gpt.py and base_train.py there are identical to the initial release 3a5e0bc (2025-10-13),
and no commit before November 2025 changed a parameter count, the FLOP estimate or the horizon rule.

`head` is the master branch as mirrored: 92d63d4e8bb4 (2026-07-03).
"""

from __future__ import annotations

REPO = "karpathy/nanochat"
V0 = "fae3aca9519a"
HEAD = "92d63d4e8bb4"

IS_V0 = 'version == "v0"'
IS_HEAD = 'version == "head"'


def v0(path: str, lines: str) -> str:
    """`karpathy/nanochat nanochat/gpt.py@fae3aca9519a L72`."""
    return f"{REPO} {path}@{V0} L{lines}"


def head(path: str, lines: str) -> str:
    """`karpathy/nanochat nanochat/gpt.py@92d63d4e8bb4 L170`."""
    return f"{REPO} {path}@{HEAD} L{lines}"
