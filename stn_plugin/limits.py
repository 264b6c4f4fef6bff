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
