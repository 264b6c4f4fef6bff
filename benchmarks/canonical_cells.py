"""Is every canonical cell the crystal with its whole symmetry? A survey of the bundled data.

    python -m benchmarks.canonical_cells [--limit N]

For every record of the bundled data (all three sources, as read, before de-duplication and the data checks) it builds the
canonical cell (``graph.standardize.canonicalize``, default tolerances) and counts the point-group operations
spglib finds in that cell at a tight tolerance (1e-3 Angstrom: the cell is made of refined positions) against
those of the crystal it came from (spglib at the default 0.1 Angstrom on the structure as given). A canonical
cell with fewer operations is not the crystal: it is listed with its id, formula, space group and source. It also
counts the cells whose stored point group (``CanonicalCell.point_group``, from spglib's tables) differs from the
operations spglib finds in the cell.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from tqdm import tqdm

from stn_plugin.data import SOURCES, read_bundled
from stn_plugin.graph.standardize import canonicalize
from stn_plugin.physics.symmetry import DEFAULT_ANGLE_TOLERANCE, DEFAULT_SYMPREC, point_group_operations

TIGHT_SYMPREC: float = 1e-3
"""Angstrom; spglib tolerance on the canonical cell."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N records only")
    args = parser.parse_args()
    records = [record for source in SOURCES for record in read_bundled(source).records][: args.limit]
    start = time.perf_counter()
    broken, other_point_group = [], 0
    for record in tqdm(records, desc="canonical cells"):
        crystal = SpacegroupAnalyzer(record.structure, DEFAULT_SYMPREC, DEFAULT_ANGLE_TOLERANCE)
        canonical = canonicalize(record.structure)
        found = point_group_operations(canonical.structure, TIGHT_SYMPREC)
        expected = crystal.get_point_group_operations()
        if len(found) < len(expected):
            broken.append((record, crystal.get_space_group_symbol(), len(expected), len(found)))
        stored = canonical.point_group
        other_point_group += len(stored) != len(found) or any(
            np.abs(stored - op).max(axis=(1, 2)).min() > 1e-6 for op in found
        )
    for record, symbol, expected, found in broken:
        print(
            f"{record.material_id:12s} {record.structure.composition.reduced_formula:10s} {symbol:10s} "
            f"{expected:2d} -> {found:2d} operations  {record.source}"
        )
    print(
        f"{len(broken)} of {len(records)} canonical cells have fewer point-group operations than their crystal "
        f"({time.perf_counter() - start:.0f} s); {other_point_group} stored point groups differ from the operations "
        "spglib finds in the canonical cell"
    )


if __name__ == "__main__":
    main()
