"""The `costmodel` command: typer commands joined from one module per group.

stdout carries data only; notes and errors go to stderr. A user's mistake is one line on stderr
and exit code 1, never a traceback (set COSTMODEL_DEBUG=1 to see one). sympy and pint are imported
inside the commands, so `costmodel --help` stays fast.
"""

from __future__ import annotations

import os
import sys

import typer

from costmodel.cli import calibrate, check, listing, questions
from costmodel.cli import plan as plan_cli
from costmodel.cli import sweep as sweep_cli
from costmodel.cli import trace as trace_cli

app = typer.Typer(
    name="costmodel",
    help="What will this training run need? FLOPs, memory, time, energy and money, with derivations.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
questions.register(app)
sweep_cli.register(app)
calibrate.register(app)
check.register(app)
plan_cli.register(app)
listing.register(app)
trace_cli.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    from costmodel.errors import CostModelError

    click = _click()

    try:
        code = app(args=argv, prog_name="costmodel", standalone_mode=False)
    except CostModelError as exc:
        return _fail(str(exc))
    except click.exceptions.NoArgsIsHelpError as exc:
        if exc.ctx is not None:
            sys.stdout.write(exc.ctx.get_help() + "\n")
        return 0
    except click.exceptions.UsageError as exc:
        return _fail(exc.format_message().replace("\n", " "))
    except click.exceptions.ClickException as exc:
        return _fail(exc.format_message().replace("\n", " "))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except Exception as exc:  # a bug of ours: still one line for the user
        if os.environ.get("COSTMODEL_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        return _fail(f"internal error ({type(exc).__name__}: {text[0] if text else ''}); "
                     "rerun with COSTMODEL_DEBUG=1 and report it")
    return code if isinstance(code, int) else 0


def _click():
    """The click that typer runs on (recent typer vendors its own copy as typer._click)."""
    try:
        import typer._click as vendored

        vendored.exceptions  # noqa: B018 - the attribute we need
        return vendored
    except (ImportError, AttributeError):
        import click

        return click


def _fail(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return 1


def run() -> None:  # pragma: no cover - the console script
    sys.exit(main())
