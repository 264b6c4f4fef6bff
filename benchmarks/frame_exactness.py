"""The same crystal gives the same tensor: famous crystals as given, primitive, 2x1x1 supercell and rotated.

    python -m benchmarks.frame_exactness [--model stn-mp-2023] [--ids mp-149 mp-48 ...]

For each crystal of the bundled data it predicts the structure as given and three other descriptions of it
(primitive cell, 2x1x1 supercell, a randomly rotated copy, seeded by the id) and prints the largest relative
Frobenius difference of C after rotating back (0.000 for a frame-exact predictor), the largest change of B_V and
G_V (GPa), and C11 / C33 / C44 and B_V against DFT (C in the structure's frame). One thread.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation

DEFAULT_IDS: tuple[str, ...] = (
    "mp-149", "mp-48", "mp-984", "mp-30", "mp-134", "mp-13", "mp-22862", "mp-2534", "mp-2133", "mp-46", "mp-2998",
)  # fmt: skip
"""Si, graphite, h-BN, Cu, Al, Fe, NaCl, GaAs, ZnO, Ti, BaTiO3."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023")
    parser.add_argument("--ids", nargs="+", default=list(DEFAULT_IDS))
    args = parser.parse_args()
    torch.set_num_threads(1)

    import stn_plugin
    from stn_plugin.data.loaders import read_bundled
    from stn_plugin.data.records import SOURCES
    from stn_plugin.physics.frames import rotate_elastic_tensor

    records = {r.material_id: r for source in SOURCES for r in read_bundled(source).records if r.has_tensor}
    model = stn_plugin.load(args.model)
    print(f"model {args.model}; 1 thread, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| id | formula | frame (max rel. diff.) | max dB_V, dG_V (GPa) | C11 pred/DFT | C33 | C44 | B_V |")
    print("|---|---|---|---|---|---|---|---|")
    for material_id in args.ids:
        record = records.get(material_id)
        if record is None:
            continue
        s = record.structure
        Q = Rotation.random(random_state=int(material_id.split("-")[1]) % 1000).as_matrix()
        variants = [
            (s.get_primitive_structure(), np.eye(3)),
            (s * (2, 1, 1), np.eye(3)),
            (Structure(Lattice(s.lattice.matrix @ Q.T), s.species, s.frac_coords), Q),
        ]
        reference, *others = model.predict_structures([s, *(v for v, _ in variants)])
        C = np.asarray(reference.elastic_tensor.voigt)
        frame = max(
            np.linalg.norm(rotate_elastic_tensor(p.elastic_tensor.voigt, R.T) - C) / np.linalg.norm(C)
            for p, (_, R) in zip(others, variants, strict=True)
        )
        moduli = max(abs(p.moduli[k] - reference.moduli[k]) for p in others for k in ("bulk_voigt", "shear_voigt"))
        T = record.elastic_tensor
        bulk_voigt = T[:3, :3].sum() / 9.0  # (C11 + C22 + C33 + 2 (C12 + C13 + C23)) / 9
        cells = " | ".join(f"{C[i, i]:.0f}/{T[i, i]:.0f}" for i in (0, 2, 3))
        print(
            f"| {material_id} | {record.formula} | {frame:.3f} | {moduli:.3f} | {cells} | "
            f"{reference.moduli['bulk_voigt']:.0f}/{bulk_voigt:.0f} |"
        )


if __name__ == "__main__":
    main()
