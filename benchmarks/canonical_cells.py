"""Is every canonical cell the crystal with its whole symmetry? A survey of the bundled data.

    python -m benchmarks.canonical_cells [--limit N]

For every record of the bundled data (all three sources, as read, before de-duplication and the data checks) it builds the
canonical cell (``structure.canonical.canonicalize``, default tolerances) and counts the point-group operations
spglib finds in that cell at a tight tolerance (1e-3 Angstrom: the cell is made of refined positions) against
those of the crystal it came from (spglib at the default 0.1 Angstrom on the structure as given). A canonical
cell with fewer operations is not the crystal: it is listed with its id, formula, space group and source. It also
counts the cells whose stored point group (``CanonicalCell.point_group``, from spglib's tables) differs from the
operations spglib finds in the cell. For every centred canonical cell (not ``CanonicalCell.primitive``) it compares
``structure.canonical.primitive_cell`` with pymatgen's ``get_primitive_structure`` (tolerance 0.01 Angstrom): the
number and elements of the atoms, the lattice (a unimodular change of basis in the same Cartesian frame) and the
neighbour distances up to 5 Angstrom, and times both.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from tqdm import tqdm

from stn_plugin.data import SOURCES, read_bundled
from stn_plugin.physics.symmetry import DEFAULT_ANGLE_TOLERANCE, DEFAULT_SYMPREC, point_group_operations
from stn_plugin.structure.canonical import PRIMITIVE_TOLERANCE, canonicalize, primitive_cell

TIGHT_SYMPREC: float = 1e-3
"""Angstrom; spglib tolerance on the canonical cell."""


def same_primitive_cell(conventional: Structure, seconds: dict[str, float]) -> bool:
    """Whether ``primitive_cell`` and pymatgen's ``get_primitive_structure`` give the same cell of ``conventional``
    (atoms, lattice up to a unimodular change of basis, neighbour distances); their times are added to ``seconds``."""
    start = time.perf_counter()
    ours = primitive_cell(conventional)
    middle = time.perf_counter()
    reference = conventional.get_primitive_structure(tolerance=PRIMITIVE_TOLERANCE)
    seconds["ours"] += middle - start
    seconds["pymatgen"] += time.perf_counter() - middle
    if len(ours) != len(reference) or sorted(ours.atomic_numbers) != sorted(reference.atomic_numbers):
        return False
    change = ours.lattice.matrix @ np.linalg.inv(reference.lattice.matrix)
    if np.abs(change - np.round(change)).max() > 1e-9 or abs(abs(np.linalg.det(change)) - 1.0) > 1e-9:
        return False
    distances = [np.sort(cell.get_neighbor_list(5.0)[3]) for cell in (ours, reference)]
    return len(distances[0]) == len(distances[1]) and bool(np.allclose(*distances, atol=1e-8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N records only")
    args = parser.parse_args()
    records = [record for source in SOURCES for record in read_bundled(source).records][: args.limit]
    start = time.perf_counter()
    broken, other_point_group, centred, other_primitive = [], 0, 0, []
    seconds = {"ours": 0.0, "pymatgen": 0.0}
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
        if not canonical.primitive:
            centred += 1
            if not same_primitive_cell(canonical.structure, seconds):
                other_primitive.append(record.material_id)
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
    print(
        f"{centred} centred canonical cells: primitive_cell differs from pymatgen's primitive cell for "
        f"{len(other_primitive)} {other_primitive[:10]}; {1e3 * seconds['ours'] / max(centred, 1):.1f} ms against "
        f"{1e3 * seconds['pymatgen'] / max(centred, 1):.1f} ms per cell"
    )


if __name__ == "__main__":
    main()
