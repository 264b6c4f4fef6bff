"""How much positional noise moves a prediction, at the former (0.01 Angstrom) and the current symmetry tolerance.

Every atom of a real crystal is moved by a random vector of fixed length (0.001-0.02 Angstrom, two seeds), and the
largest relative Frobenius change of C against the ideal crystal's prediction is printed per tolerance, with B_V.

    python -m benchmarks.rattle_continuity --model stn-mp-2023
    python -m benchmarks.rattle_continuity --survey     # bundled tensor crystals whose space group the tolerance changes

``tests/test_prediction_continuity.py`` asserts the current tolerance's column on the same crystals.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
from pymatgen.core import Lattice, Structure

STEPS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.02)
"""Length of every atom's random displacement, Angstrom."""

SEEDS: tuple[int, ...] = (0, 1)

CRYSTALS: dict[str, tuple[Structure, float]] = {
    # name: (ideal structure, largest relative Frobenius change of C the test allows at the current tolerance)
    "NaCl (cubic, conventional)": (
        Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        1e-4,
    ),
    "Si (cubic, 2x1x1 supercell)": (
        Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]]) * (2, 1, 1),
        1e-4,
    ),
    "Ti (hexagonal, hcp)": (
        Structure.from_spacegroup("P6_3/mmc", Lattice.hexagonal(2.95, 4.68), ["Ti"], [[1 / 3, 2 / 3, 0.25]]),
        1e-4,
    ),
    "TiO2 rutile (tetragonal, free O x)": (
        Structure.from_spacegroup(
            "P4_2/mnm", Lattice.tetragonal(4.59, 2.96), ["Ti", "O"], [[0, 0, 0], [0.305, 0.305, 0]]
        ),
        0.08,
    ),
    "ZnO wurtzite (hexagonal, free u)": (
        Structure.from_spacegroup(
            "P6_3mc", Lattice.hexagonal(3.25, 5.21), ["Zn", "O"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.382]]
        ),
        0.08,
    ),
}
"""Crystals without free coordinates (prediction unchanged under noise) and with them (the network's response)."""


def rattled(structure: Structure, step: float, seed: int) -> Structure:
    """Every atom of ``structure`` moved ``step`` Angstrom in a random direction (seeded)."""
    moves = np.random.default_rng(seed).normal(size=(len(structure), 3))
    moves *= step / np.linalg.norm(moves, axis=1, keepdims=True)
    return Structure(structure.lattice, structure.species, structure.cart_coords + moves, coords_are_cartesian=True)


def largest_changes(model, ideal: Structure) -> tuple[float, list[tuple[float, float]]]:  # noqa: ANN001
    """B_V of ``ideal`` and, per step, (largest relative change of C, B_V of that noisy input) over the seeds."""
    reference, *noisy = model.predict_structures(
        [ideal, *(rattled(ideal, step, seed) for step in STEPS for seed in SEEDS)]
    )
    c = reference.elastic_tensor.voigt
    rows = []
    for k in range(len(STEPS)):
        group = noisy[k * len(SEEDS) : (k + 1) * len(SEEDS)]
        change = [np.linalg.norm(p.elastic_tensor.voigt - c) / np.linalg.norm(c) for p in group]
        worst = int(np.argmax(change))
        rows.append((change[worst], group[worst].moduli["bulk_voigt"]))
    return reference.moduli["bulk_voigt"], rows


def space_group_changes(low: float, high: float) -> list[tuple[str, str, int, int]]:
    """(id, formula, space group at ``low``, at ``high``) of the bundled tensor crystals whose spglib space group
    differs between the two tolerances (Angstrom; angle tolerance ``DEFAULT_ANGLE_TOLERANCE``)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from stn_plugin.data.loaders import DEJONG2015, MP2023_ELATBOT, read_bundled
    from stn_plugin.physics.symmetry import DEFAULT_ANGLE_TOLERANCE

    changes = []
    for source in (DEJONG2015, MP2023_ELATBOT):
        for record in read_bundled(source).records:
            low_number, high_number = (
                SpacegroupAnalyzer(
                    record.structure, symprec=tolerance, angle_tolerance=DEFAULT_ANGLE_TOLERANCE
                ).get_space_group_number()
                for tolerance in (low, high)
            )
            if low_number != high_number:
                formula = record.structure.composition.reduced_formula
                changes.append((record.material_id, formula, low_number, high_number))
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="stn-mp-2023")
    parser.add_argument("--tolerances", type=float, nargs="+", default=[0.01, 0.1], help="symprec values, Angstrom")
    parser.add_argument("--survey", action="store_true", help="list the bundled crystals the tolerance changes")
    args = parser.parse_args(argv)
    if args.survey:
        low, high = min(args.tolerances), max(args.tolerances)
        changes = space_group_changes(low, high)
        print(f"{len(changes)} bundled tensor crystals change space group between symprec {low} and {high}:")
        for material_id, formula, before, after in changes:
            print(f"  {material_id} {formula}: {before} -> {after}")
        return 0
    import stn_plugin

    model = stn_plugin.load(args.model)
    print(f"{platform.machine()}, {os.cpu_count()} cores, 1 thread, load average {os.getloadavg()[0]:.1f}\n")
    header = " | ".join(f"symprec {t}: change of C, B_V" for t in args.tolerances)
    print(f"| crystal | B_V ideal (GPa) | step (Angstrom) | {header} |")
    print("|---|---|---|" + "---|" * len(args.tolerances))
    for name, (ideal, _) in CRYSTALS.items():
        results = []
        for tolerance in args.tolerances:
            model.symprec = model.converter.symprec = tolerance  # the symmetry tolerance of the canonical cell
            results.append(largest_changes(model, ideal))
        for k, step in enumerate(STEPS):
            cells = " | ".join(f"{rows[k][0]:.3f}, {rows[k][1]:.1f}" for _, rows in results)
            print(f"| {name} | {results[-1][0]:.1f} | {step} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
