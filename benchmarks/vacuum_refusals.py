"""The bundled records whose layers the shipped model's edges leave uncoupled, and which of them are refused as slabs.

For every record of the four bundled sources: the periodic rank of the shipped model's edges on the record's cell
(radius edges and their rank do not depend on the cell chosen); for each record whose edges connect along fewer than
three lattice directions, the closest atoms across its widest gap, whether the input checks refuse it
(``stn_plugin.graph.checks.vacuum_dimensions`` below 3: atoms ``VACUUM_GAP`` or more apart across the gap) and the
DFT tensor's smallest normal stiffness (min of C11, C22, C33; moduli-only records have none). docs/RELIABILITY.md,
"Vacuum", quotes the counts.

Run: ``python benchmarks/vacuum_refusals.py [--model stn-mp-2023]`` (about a minute on one core).
"""

from __future__ import annotations

import argparse

import numpy as np
from pymatgen.core import Structure

import stn_plugin
from stn_plugin.data.records import ALL_SOURCES
from stn_plugin.graph.checks import VACUUM_GAP, vacuum_dimensions
from stn_plugin.graph.edges import periodic_dimensions
from stn_plugin.training.data import load_records


def connecting_distance(structure: Structure, longest: float = 40.0, precision: float = 0.005) -> float:
    """The closest atoms across the widest gap of ``structure`` (Angstrom, to ``precision``): the shortest gap at
    which :func:`vacuum_dimensions` is 3, searched up to ``longest``."""
    low, high = 0.0, longest
    while high - low > precision:
        middle = (low + high) / 2
        low, high = (low, middle) if vacuum_dimensions(structure, middle) == 3 else (middle, high)
    return high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023", help="model whose edge settings are used")
    args = parser.parse_args()
    strategy = stn_plugin.load(args.model).converter.edges
    records, _ = load_records(None, ALL_SOURCES)
    uncoupled = [r for r in records if periodic_dimensions(strategy(r.structure), len(r.structure)) < 3]
    print("| material | source | formula | closest atoms across the gap (Angstrom) | input check | DFT min C_ii |")
    print("|---|---|---|---|---|---|")
    refused = 0
    for record in uncoupled:
        slab = vacuum_dimensions(record.structure) < 3
        refused += slab
        stiffness = "" if record.elastic_tensor is None else f"{np.diag(record.elastic_tensor)[:3].min():.1f} GPa"
        print(
            f"| {record.material_id} | {record.source} | {record.formula} | "
            f"{connecting_distance(record.structure):.2f} | {'refused' if slab else 'predicted'} | {stiffness} |"
        )
    print(
        f"\n{len(records)} records ({', '.join(ALL_SOURCES)}); {len(uncoupled)} with {args.model}'s edges "
        f"({strategy.settings()}) connecting along fewer than 3 directions: {len(uncoupled) - refused} predicted, "
        f"{refused} refused as not bulk (vacuum of {VACUUM_GAP:g} Angstrom or more)."
    )


if __name__ == "__main__":
    main()
