"""The ``stn`` command line interface (Typer); see :mod:`stn_plugin.cli.main`."""
