"""``stn cache``: where the graph cache is, what it holds, and clearing it (:mod:`stn_plugin.disk_cache`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stn_plugin.cli.common import console, fail, info
from stn_plugin.disk_cache import (
    CACHE_DIR_VARIABLE,
    CACHE_MAX_MB_VARIABLE,
    DEFAULT_MAX_MB,
    cache_usage,
    clear_cache,
    default_cache_dir,
    max_cache_bytes,
)

CACHE_DIR_HELP = f"graph cache folder; default ${CACHE_DIR_VARIABLE}, else ~/.cache/stn_plugin"
"""Help of the --cache-dir option of the commands that use the graph cache."""

app = typer.Typer(
    name="cache",
    help=(
        "The graph cache of training (prepared cells and edge lists, one file per material): where it is, "
        f"its size, clearing it. At most ${CACHE_MAX_MB_VARIABLE} MB (default {DEFAULT_MAX_MB}); the least "
        "recently used files go first."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

CacheDir = Annotated[Path | None, typer.Option(help=CACHE_DIR_HELP, file_okay=False, show_default=False)]


@app.command("info")
def cache_info(cache_dir: CacheDir = None) -> None:
    """Print the cache folder, its number of files, their size and the size limit.

    Examples:

        stn cache info

        stn cache info --cache-dir /scratch/stn-cache
    """
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    try:
        limit = f"{max_cache_bytes() / 1e6:.0f} MB"
    except ValueError as exc:
        fail(str(exc))
    usage = cache_usage(directory)
    for key, value in (
        ("folder", str(directory.resolve()) + ("" if directory.is_dir() else " (does not exist yet)")),
        ("files", str(usage.files)),
        ("size", f"{usage.megabytes:.1f} MB"),
        ("limit", f"{limit} (${CACHE_MAX_MB_VARIABLE})"),
    ):
        console.print(f"{key}: {value}", soft_wrap=True, highlight=False, markup=False)


@app.command("clear")
def cache_clear(cache_dir: CacheDir = None) -> None:
    """Delete the cache's files (only files named like cache entries; the folder and anything else stay).

    Training builds the graphs again where they are missing. Examples:

        stn cache clear

        stn cache clear --cache-dir /scratch/stn-cache
    """
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    removed = clear_cache(directory)
    info(f"removed {removed.files} files ({removed.megabytes:.1f} MB) from {directory.resolve()}")
