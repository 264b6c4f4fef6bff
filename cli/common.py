"""Console, error reporting and progress bars shared by the ``stn`` commands."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


def error(message: str) -> None:
    """Print an error message (not parsed as rich markup, never re-wrapped) to standard error."""
    err_console.print(f"[bold red]Error:[/bold red] {escape(message)}", soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error and leave with exit code ``code``."""
    error(message)
    raise typer.Exit(code)


def info(message: str) -> None:
    """Print a status message (plain text) to standard error."""
    err_console.print(escape(message), soft_wrap=True, highlight=False)


def track(items: Iterable[T], description: str, total: int) -> Iterator[T]:
    """Iterate over ``items`` with a rich progress bar on standard error."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        yield from progress.track(items, total=total, description=description)


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Silence the library logger ``name`` while a command prints the same information itself."""
    logger = logging.getLogger(name)
    previous, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = previous
