"""Default size limits of a prediction (no heavy imports, so the CLI can show them in its help).

:mod:`stn_plugin.structure.checks` applies them; ``predict_structure(..., max_atoms=, max_edges=)`` and
``stn models predict --max-atoms/--max-edges`` override them.
"""

from __future__ import annotations

MAX_ATOMS: int = 500
"""Atoms of the cell the graphs are built on (the conventional standard cell: supercells are reduced first)."""

MAX_EDGES: int = 60_000
"""Directed edges of one strained graph: just above the largest graph of the bundled data under any shipped
edge setting (58,792 cell-radius edges, docs/graphs.md); a 500-atom cell has about 20,000 edges at the shipped
model's 5 Angstrom radius."""

MAX_FILE_BYTES: int = 64 << 20
"""Bytes of one structure file after decompression: a 2,000-atom crystal takes well under 1 MiB in any text format,
so 64 MiB leaves room for long comments and output files while a compressed file (``.gz``, ``.bz2``, ``.xz``) that
expands to gigabytes is stopped after 64 MiB."""

MAX_LINE_CHARS: int = 16 << 20
"""Characters of one line of a JSON-lines dataset (one material): the bundled lines are at most 26 kB; a longer
line is rejected as malformed without being held in memory whole."""

MAX_COMPRESSION_RATIO: int = 25
"""A compressed dataset may expand to at most this many times its size on disk (plus one line): gzip compresses the
bundled datasets 6 to 8 times, a compression bomb a thousand times."""
