"""The ``stn`` command line (console script ``stn = "stn_plugin.cli.main:app"``).

A thin door into the library: every command parses its options, calls ``stn_plugin`` and prints the
result. Exit codes: 0 success, 1 a failure (a message says what and how to fix it), 2 bad usage.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stn_plugin.cli import cache, data, models

app = typer.Typer(
    name="stn",
    help="StrainTensorNet: elastic tensors of crystals from strained-crystal graphs (Phys. Rev. Research 5, 043198).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.add_typer(models.app)
app.add_typer(data.app)
app.add_typer(cache.app)


def _print_version(value: bool) -> None:
    """``--version``: print the package version and leave."""
    if value:
        from stn_plugin import __version__

        typer.echo(f"stn-plugin {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", help="print the version and exit", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Process set-up shared by every command."""
    from stn_plugin.runtime import keep_freed_memory

    keep_freed_memory()  # large tensors reuse freed memory instead of fresh pages (stn_plugin.runtime)


if __name__ == "__main__":
    app()
