"""Write the bad (and unusual but valid) inputs of docs/RELIABILITY.md into a folder.

Structure files for ``stn models predict``, a damaged and a crafted model directory for ``stn_plugin.load``,
and a JSON-lines dataset with one invalid record per reason for ``stn data prepare``.

Run: ``python benchmarks/bad_inputs.py bad`` (a few seconds), then the commands of docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Lattice, Molecule, Structure
from pymatgen.core.surface import SlabGenerator
from scipy.spatial.transform import Rotation

from stn_plugin.data import load_bundled_dataset
from stn_plugin.data.loaders import record_to_json_line
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.registry import pretrained_model_dir

SILICON = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
ROCKSALT = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


class RunsCode:
    """Unpickling this calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


def distorted(structure: Structure, step: float = 0.02, seed: int = 0) -> Structure:
    """Every atom moved ``step`` Angstrom in a random direction (no symmetry left at 0.01 Angstrom)."""
    moves = np.random.default_rng(seed).normal(size=(len(structure), 3))
    moves *= step / np.linalg.norm(moves, axis=1, keepdims=True)
    return Structure(structure.lattice, structure.species, structure.cart_coords + moves, coords_are_cartesian=True)


def structures() -> dict[str, Structure | str]:
    """File name -> structure (written as pymatgen JSON) or raw text."""
    primitive = ROCKSALT.get_primitive_structure()
    a, b, c = primitive.lattice.matrix
    nan_lattice = primitive.lattice.matrix.copy()
    nan_lattice[0, 0] = np.nan
    dense = distorted(Structure(Lattice(SILICON.lattice.matrix * 0.25), SILICON.species, SILICON.frac_coords) * 2)
    return {
        "empty.cif": "",
        "broken.cif": "data_x\n_cell_length_a 3\n",
        "junk.xyzq": "not a structure\n",
        "partial.cif": Structure(Lattice.cubic(3.6), [{"Fe": 0.5, "Ni": 0.5}], [[0, 0, 0]]).to(fmt="cif"),
        "nan_lattice.json": json.dumps(
            {**primitive.as_dict(), "lattice": {"matrix": nan_lattice.tolist(), "pbc": [True] * 3}}
        ),
        "collapsed.json": Structure(Lattice([[4, 0, 0], [0, 4, 0], [4, 4, 0]]), ["Na"], [[0, 0, 0]]),
        "overlap.cif": Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.05, 0, 0]]).to(fmt="cif"),
        "single_atom.json": Structure(Lattice.cubic(20.0), ["Na"], [[0, 0, 0]]),
        "molecule.json": Molecule(["N", "N"], [[0, 0, 0], [0, 0, 1.1]]).get_boxed_structure(15, 15, 15),
        "slab.json": SlabGenerator(ROCKSALT, (0, 0, 1), 6, 15, center_slab=True).get_slab(),
        "argon.json": Structure(Lattice.cubic(5.26), ["Ar"] * 4, ROCKSALT.frac_coords[:4]),
        "oganesson.json": Structure(Lattice.cubic(5.0), ["Og"], [[0, 0, 0]]),
        "left_handed.json": Structure(Lattice([b, a, c]), primitive.species, primitive.frac_coords[:, [1, 0, 2]]),
        "skewed.json": Structure(
            Lattice([a, b + a, c + a + b]), primitive.species, primitive.cart_coords, coords_are_cartesian=True
        ),
        "si_supercell_512.json": SILICON * (4, 4, 4),
        "si_distorted_512.json": distorted(SILICON * (4, 4, 4)),
        "si_supercell_2352.json": SILICON * (7, 7, 6),
        "dense_wrong_units.json": dense,
    }


def damaged_models(folder: Path) -> None:
    """Copies of the bundled model: one truncated, one whose model.pt runs ``touch MARKER`` when unpickled."""
    source = pretrained_model_dir("stn-mp-2023")
    truncated, crafted = folder / "model_truncated", folder / "model_crafted"
    for target in (truncated, crafted):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("README.md"))
    state = (truncated / "state.pt").read_bytes()
    (truncated / "state.pt").write_bytes(state[: len(state) // 2])
    torch.save({"config": RunsCode(f"touch {folder / 'MARKER'}")}, crafted / "model.pt")


def bad_dataset(path: Path) -> None:
    """Ten cubic bundled records plus one invalid line per reason."""
    good = [r for r in load_bundled_dataset() if r.crystal_system == "cubic"][:10]
    template = record_to_json_line(good[0])
    C = np.asarray(template["elastic_tensor_original"])
    nan, asymmetric = C.copy(), C.copy()
    nan[3, 3] = np.nan
    asymmetric[0, 1] += 40.0
    anisotropic = np.diag([200.0, 200.0, 200.0, 150.0, 150.0, 150.0])
    anisotropic[:3, :3] += 100.0 * (1 - np.eye(3))
    turn = Rotation.from_euler("z", 45, degrees=True).as_matrix()
    bad = {
        "bad-nan": {"elastic_tensor_original": nan.tolist()},
        "bad-asymmetric": {"elastic_tensor_original": asymmetric.tolist()},
        "bad-pascal": {"elastic_tensor_original": (C * 1e9).tolist()},
        "bad-unstable": {"elastic_tensor_original": (C - np.eye(6) * 2 * np.abs(C).max()).tolist()},
        "bad-frame": {"elastic_tensor_original": rotate_elastic_tensor(anisotropic, turn).tolist()},
        "bad-formula": {"formula": "NaCl"},
        good[1].material_id: {},  # a duplicate id
    }
    lines = [json.dumps(record_to_json_line(r)) for r in good]
    lines += [json.dumps({**template, "material_id": name, **change}) for name, change in bad.items()]
    lines.append('{"material_id": "bad-cut-off", "structure": {')
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in structures().items():
        text = content if isinstance(content, str) else json.dumps(content.as_dict())
        (folder / name).write_text(text)
    damaged_models(folder)
    bad_dataset(folder / "bad_records.jsonl")
    print(f"wrote {len(structures())} structure files, 2 model directories and bad_records.jsonl to {folder}")


if __name__ == "__main__":
    main()
