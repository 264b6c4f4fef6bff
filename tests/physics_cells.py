"""Hand-built standard cells, one or more per crystal system and Laue class, for the physics tests."""

from __future__ import annotations

from pymatgen.core import Lattice, Structure


def diamond() -> Structure:
    """Diamond (m-3m), conventional cubic cell, a = 3.567 Angstrom."""
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(3.567), ["C"], [[0, 0, 0]])


def rocksalt() -> Structure:
    """NaCl (m-3m), primitive fcc cell (non-orthogonal lattice vectors)."""
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    ).get_primitive_structure()


def hcp_mg() -> Structure:
    """hcp Mg (6/mmm)."""
    return Structure(Lattice.hexagonal(3.21, 5.21), ["Mg", "Mg"], [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])


def hexagonal_6_m() -> Structure:
    """A P6/m crystal (Laue class 6/m)."""
    return Structure.from_spacegroup("P6/m", Lattice.hexagonal(5.0, 4.0), ["Fe", "O"], [[0.1, 0.25, 0.3], [0, 0, 0]])


def rutile() -> Structure:
    """Rutile TiO2 (4/mmm, Laue class 4/mmm: tetragonal I of App. C)."""
    return Structure.from_spacegroup(
        "P4_2/mnm", Lattice.tetragonal(4.59, 2.96), ["Ti", "O"], [[0, 0, 0], [0.305, 0.305, 0]]
    )


def tetragonal_4_m() -> Structure:
    """A P4/m crystal (Laue class 4/m: tetragonal II of App. C)."""
    return Structure.from_spacegroup("P4/m", Lattice.tetragonal(5.0, 4.0), ["Fe", "O"], [[0.1, 0.2, 0.3], [0, 0, 0]])


def trigonal_3m() -> Structure:
    """A P-3m1 crystal (Laue class -3m: rhombohedral I of App. C)."""
    return Structure.from_spacegroup(
        "P-3m1", Lattice.hexagonal(5.0, 4.0), ["Fe", "O"], [[1 / 3, 2 / 3, 0.3], [0, 0, 0]]
    )


def trigonal_3() -> Structure:
    """A R-3 crystal (Laue class -3: rhombohedral II of App. C), dolomite-like."""
    return Structure.from_spacegroup(
        "R-3",
        Lattice.hexagonal(4.81, 16.0),
        ["Ca", "Mg", "C", "O"],
        [[0, 0, 0], [0, 0, 0.5], [0, 0, 0.243], [0.248, 0.965, 0.244]],
    )


def orthorhombic() -> Structure:
    """A Pnma crystal (mmm)."""
    return Structure.from_spacegroup(
        "Pnma", Lattice.orthorhombic(5.0, 6.0, 7.0), ["Fe", "O"], [[0.1, 0.25, 0.2], [0.3, 0.25, 0.6]]
    )


def monoclinic() -> Structure:
    """A P2_1/c crystal (2/m)."""
    return Structure.from_spacegroup(
        "P2_1/c", Lattice.monoclinic(5.0, 6.0, 7.0, 100.0), ["Fe", "O"], [[0.1, 0.2, 0.3], [0.3, 0.15, 0.6]]
    )


def triclinic() -> Structure:
    """A P1 crystal (-1 is absent: point group 1)."""
    return Structure(
        Lattice.from_parameters(5.0, 6.0, 7.0, 80.0, 85.0, 95.0), ["Fe", "O"], [[0.1, 0.2, 0.3], [0.3, 0.15, 0.6]]
    )
