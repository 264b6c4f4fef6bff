"""Console, error reporting and progress bars shared by the ``stn`` commands."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")

DATA_HELP = (
    "JSON-lines dataset (.jsonl, .jsonl.gz); default: the bundled data (de Jong 2015 and MP 2023 tensors, "
    "MP 2025 binary moduli)"
)
"""Help of the --data option of the commands that default to the bundled dataset."""

console = Console()
"""Results (tables) go to standard output."""

err_console = Console(stderr=True)
"""Messages, progress and summaries go to standard error, so piped JSON/CSV output stays clean."""


THREADS_HELP = (
    "torch threads of the computation (default 1: on a shared or small machine more threads mostly contend; "
    "docs/RESULTS.md, Performance)"
)
"""Help of the --threads option of the commands that compute."""


def use_threads(threads: int) -> None:
    """Run torch's operations of this process on ``threads`` threads (``--threads``)."""
    import torch

    torch.set_num_threads(threads)


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters (terminal escapes, a newline in a file name) written as Python escapes, so
    a hostile file name can neither drive the terminal nor split a CSV row.

    Args:
        text: a message or a file name.
        keep_newlines: leave line breaks of a multi-line message as they are.
    """
    return "".join(
        ch if ch.isprintable() or ch == " " or (keep_newlines and ch == "\n") else repr(ch)[1:-1] for ch in text
    )


def error(message: str) -> None:
    """Print an error message (not parsed as rich markup, never re-wrapped, control characters escaped) to
    standard error."""
    text = escape(printable(message, keep_newlines=True))
    err_console.print(f"[bold red]Error:[/bold red] {text}", soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error and leave with exit code ``code``."""
    error(message)
    raise typer.Exit(code)


def check_output(option: str, path: Path, folder: bool = False, alternative: str = "") -> None:
    """Leave with exit code 2 unless the output of ``option`` can be written at ``path`` (``folder``: into the folder
    ``path``): a new or regular file, in a folder that can be created and written
    (:func:`stn_plugin.io.check_writable`). Call it before the work whose result is written.

    Args:
        option: the option naming the output, e.g. ``"--output"``.
        path: its value.
        folder: ``path`` is a folder that receives files.
        alternative: the end of the advice, e.g. ``"or leave out --output to print to stdout"``.
    """
    from stn_plugin.io import UnsafeOutputError, check_writable, os_error

    tail = f", {alternative}" if alternative else ""
    try:
        check_writable(path, folder)
    except UnsafeOutputError as exc:
        target = "a folder (new, or one to add files to)" if folder else "the name of a new file or a file to replace"
        fail(f"{option} {exc}. Give {target}{tail}.", code=2)
    except OSError as exc:
        fail(f"{option} {path} cannot be written ({os_error(exc)}). Choose a writable folder{tail}.", code=2)


def info(message: str) -> None:
    """Print a status message (plain text, control characters escaped) to standard error."""
    err_console.print(escape(printable(message, keep_newlines=True)), soft_wrap=True, highlight=False)


def _progress() -> Progress:
    """A transient rich progress display on standard error: description, bar, count, elapsed and remaining time."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TimeRemainingColumn(), console=err_console, transient=True)


def track(items: Iterable[T], description: str, total: int) -> Iterator[T]:
    """Iterate over ``items`` with a rich progress bar on standard error."""
    with _progress() as progress:
        yield from progress.track(items, total=total, description=description)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on standard error; the context gives a function that sets the number of items done."""
    with _progress() as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Silence the library logger ``name`` while a command prints the same information itself."""
    logger = logging.getLogger(name)
    previous, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = previous
