"""Shared structures for the graph tests (bundled Materials Project entries and hand-built cells)."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib.resources import files

import numpy as np
from pymatgen.core import Lattice, Structure

SYSTEM_EXAMPLES: dict[str, str] = {
    "cubic": "mp-1932",  # Nb3Os, Pm-3n
    "tetragonal": "mp-21249",  # YMnSi, P4/nmm
    "orthorhombic": "mp-20619",  # SbRh, Pnma
    "orthorhombic-C": "mp-10021",  # Ga, Cmcm
    "hexagonal": "mp-9919",  # LiZnSb, P6_3mc
    "trigonal": "mp-22787",  # Fe2Si, P-3m1
    "trigonal-R": "mp-23152",  # Bi, R-3m (2-atom primitive, 6-atom conventional)
    "monoclinic": "mp-569073",  # LiSn, P2/m
}
"""Bundled materials (de Jong 2015 set) used as examples of each crystal system."""


@cache
def bundled_structures() -> dict[str, Structure]:
    """All bundled structures by material id."""
    path = files("stn_plugin.data").joinpath("files/dejong2015_mp_elastic.jsonl.gz")
    with gzip.open(str(path), "rt") as f:
        records = [json.loads(line) for line in f]
    return {r["material_id"]: Structure.from_dict(r["structure"]) for r in records}


def triclinic() -> Structure:
    """A hand-built P1 cell (no symmetry but the identity)."""
    lattice = Lattice.from_parameters(4.1, 4.7, 5.3, 78.0, 84.0, 97.0)
    return Structure(lattice, ["Si", "O", "O"], [[0.03, 0.11, 0.07], [0.41, 0.27, 0.19], [0.72, 0.58, 0.83]])


def graphite() -> Structure:
    """AB-stacked graphite, a = 2.46 A, c = 6.70 A (interlayer spacing 3.35 A)."""
    lattice = Lattice.hexagonal(2.46, 6.70)
    coords = [[0, 0, 0.25], [0, 0, 0.75], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]]
    return Structure(lattice, ["C"] * 4, coords)


def rotated(structure: Structure, rotation: np.ndarray) -> Structure:
    """The structure rigidly rotated by ``rotation`` (Cartesian, r -> R r)."""
    return Structure(structure.lattice.matrix @ rotation.T, structure.species, structure.frac_coords)
