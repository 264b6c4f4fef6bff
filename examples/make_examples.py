"""Write the example structures of this folder with pymatgen (experimental lattice parameters, room temperature).

Run from anywhere: ``python examples/make_examples.py``.

* ``Si.cif``            diamond-cubic silicon, a = 5.431 Angstrom (primitive cell, 2 atoms)
* ``NaCl.poscar``       rock salt, a = 5.640 Angstrom (primitive cell, 2 atoms), VASP POSCAR
* ``Mg.json``           hcp magnesium, a = 3.209, c = 5.211 Angstrom, pymatgen JSON
* ``TiO2_rutile.cif``   rutile, a = 4.594, c = 2.959 Angstrom, u = 0.305 (6 atoms)
"""

from __future__ import annotations

import json
from pathlib import Path

from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter
from pymatgen.io.vasp import Poscar

HERE = Path(__file__).resolve().parent / "structures"


def main() -> None:
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0, 0, 0]]).get_primitive_structure()
    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.640), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    mg = Structure.from_spacegroup("P6_3/mmc", Lattice.hexagonal(3.209, 5.211), ["Mg"], [[1 / 3, 2 / 3, 0.25]])
    rutile = Structure.from_spacegroup(
        "P4_2/mnm", Lattice.tetragonal(4.594, 2.959), ["Ti", "O"], [[0, 0, 0], [0.305, 0.305, 0]]
    )
    CifWriter(si).write_file(HERE / "Si.cif")
    Poscar(nacl.get_primitive_structure()).write_file(HERE / "NaCl.poscar")
    (HERE / "Mg.json").write_text(json.dumps(mg.as_dict(), indent=1) + "\n")
    CifWriter(rutile).write_file(HERE / "TiO2_rutile.cif")


if __name__ == "__main__":
    main()
