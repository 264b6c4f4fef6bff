"""The ``stn`` command line interface (Typer); see :mod:`cli.main`."""
