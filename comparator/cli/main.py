"""``comparator`` (or ``python -m comparator``): the command line, a click group.

Each command lives in its own module of comparator.cli and is loaded when it runs (or when
``--help`` lists it), so ``comparator stats`` does not import the generation engines, the
clustering or the report renderers. Exit codes: 0 ok, 2 bad input or usage (one line
``error: ...`` on stderr naming file, line and field), 3 when some generations or judgments
failed, 1 for an internal error (``COMPARATOR_DEBUG=1`` shows its traceback), 141 (quietly)
when the reader of the output has gone (``... | head``).
"""

from __future__ import annotations

import errno
import importlib
import sys
from typing import Any

import click

from comparator.cli.terminal import OutputClosed, quiet_closed_output, safe_output
from comparator.schema.errors import InputError, escaped
from comparator.schema.redact import redact
from comparator.schema.settings import settings
from comparator.store.memory import share_one_arena

# name -> (module of comparator.cli, its click command), in the order --help lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("convert", "convert"),
    "stats": ("stats", "stats"),
    "generate": ("generate", "generate"),
    "judge": ("judge", "judge"),
    "cluster": ("cluster", "cluster"),
    "metrics": ("metrics", "metrics"),
    "findings": ("findings", "findings"),
    "report": ("report", "report"),
    "leaderboard": ("leaderboard", "leaderboard"),
    "open": ("serve", "open_file"),
}


def report_error(e: Exception) -> int:
    """One line on stderr for a refused input or usage; the exit code."""
    if isinstance(e, click.exceptions.NoArgsIsHelpError):  # a bare command: its help
        e.show()
        return 2
    if isinstance(e, click.UsageError):
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        print(f"error: {e.format_message()}{hint}", file=sys.stderr)
        return 2
    if isinstance(e, click.ClickException):
        print(f"error: {e.format_message()}", file=sys.stderr)
        return e.exit_code
    if isinstance(e, InputError):
        print(f"error: {redact(str(e))}", file=sys.stderr)
    elif isinstance(e, (ValueError, KeyError)):
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {escaped(' '.join(redact(str(msg)).split()))}", file=sys.stderr)
    elif isinstance(e, OSError):
        print(f"error: {os_message(e)}", file=sys.stderr)
    else:  # a bug, not bad input: still one line unless asked
        if _debug():
            raise e
        print(f"internal error: {type(e).__name__}: {escaped(' '.join(redact(str(e)).split()))}"
              " (set COMPARATOR_DEBUG=1 "
              "for the traceback, and please report it)", file=sys.stderr)
        return 1
    return 2


def os_message(e: OSError) -> str:
    """An OSError in one line: the file (escaped, at most 200 characters), what happened and,
    for the errors a user can act on, what to do."""
    name = escaped(str(e.filename), 200) if e.filename else "<input>"
    hint = {errno.ENAMETOOLONG: "the name (or one folder of it) is longer than this system "
                                "allows (255 bytes a name, 4096 a path): shorten it",
            errno.ENOSPC: "the disk is full: free some space",
            errno.EROFS: "the file system is read-only: choose another folder"}.get(e.errno)
    return f"{name}: {escaped(e.strerror or str(e), 200)}" + (f"; {hint}" if hint else "")


def _debug() -> bool:
    """COMPARATOR_DEBUG, read while reporting an error: a bad setting is no reason for another."""
    try:
        return settings().debug
    except ValueError:
        return False


class Commands(click.Group):
    """The commands of ``COMMANDS``, imported on demand; errors reported as one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        return getattr(importlib.import_module(f"comparator.cli.{module}"), name)

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        share_one_arena()  # before any thread: what a read frees can go back (store.memory)
        with safe_output():  # names from files never reach the terminal raw
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False,
                                    **extra)
                sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
            except OutputClosed:  # `... | head`: the reader has what it wanted
                code = quiet_closed_output()
            except click.Abort as e:
                if isinstance(e.__context__, KeyboardInterrupt):
                    raise e.__context__ from None  # Ctrl+C: as Python reports it
                raise
            except Exception as e:  # noqa: BLE001 (report_error re-raises what it does not know)
                code = report_error(e)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"],
                                             "max_content_width": 100})
def cli() -> None:
    """Convert, summarise, generate, judge and report on judged side-by-side files
    (two LLMs compared pairwise).

    Exit codes: 0 ok; 2 bad input or usage (one line on stderr naming file, line and field);
    3 some generations or judgments failed; 1 an internal error (COMPARATOR_DEBUG=1 shows the
    traceback); 141 the output's reader has gone (... | head), quietly.
    """


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    return cli.main(argv, standalone_mode=False)
