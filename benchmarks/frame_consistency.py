"""Frame check of the bundled dataset, per crystal system (output table: docs/data.md).

For every record, C is projected onto the point group of its structure (both in the structure's frame)
and counted as consistent when the relative Frobenius change is below 2 %. Columns:

* ``structure frame``: ``elastic_tensor`` (the file's ``elastic_tensor_original``);
* ``IEEE frame``: ``elastic_tensor_ieee`` (the file's ``elastic_tensor``) tested against the same
  structure, i.e. a tensor in the wrong frame wherever the IEEE frame is not a symmetry of the cell;
* ``rotated cell``: the structure-frame tensor against the structure turned by a random rotation
  (seed 0), a control showing that the check detects a frame mismatch;
* ``flagged at 15 %``: how often that rotated cell fails the dataset filter's looser tolerance
  (``filters.FRAME_MISMATCH_TOLERANCE``, which lets every shipped tensor through);
* ``C_ieee != C``: how often the two published tensors differ by more than 2 % (where the frames
  really differ);
* ``from_ieee ok``: how often ``frames.from_ieee_frame(C_ieee, structure)`` (today's pymatgen IEEE
  rotation) reproduces ``elastic_tensor`` within 2 %.

Run: ``python benchmarks/frame_consistency.py`` (about a minute on 2 CPU cores).
"""

from __future__ import annotations

import platform
import time

import numpy as np
from pymatgen.core.operations import SymmOp
from scipy.spatial.transform import Rotation

from stn_plugin.data.filters import FRAME_MISMATCH_TOLERANCE
from stn_plugin.data.frame_consistency import FRAME_TOLERANCE, frame_consistency, projection_residual
from stn_plugin.data.loaders import load_bundled_dataset
from stn_plugin.data.records import CRYSTAL_SYSTEMS, ElasticRecord
from stn_plugin.physics.frames import from_ieee_frame


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _rotated_cell_residual(record: ElasticRecord, rng: np.random.Generator) -> float:
    turn = SymmOp.from_rotation_and_translation(Rotation.random(random_state=rng).as_matrix(), [0, 0, 0])
    structure = record.structure.copy()
    structure.apply_operation(turn)
    return projection_residual(record.elastic_tensor, structure)


def main() -> None:
    start = time.perf_counter()
    records = load_bundled_dataset()
    structure_frame = frame_consistency(records, "structure")
    ieee_frame = frame_consistency(records, "ieee")
    rng = np.random.default_rng(0)
    rows = []
    for system in (s for s in CRYSTAL_SYSTEMS if s in structure_frame):
        members = [r for r in records if r.crystal_system == system]
        residuals = np.array([_rotated_cell_residual(r, rng) for r in members])
        rotated, flagged = np.mean(residuals < FRAME_TOLERANCE), np.mean(residuals > FRAME_MISMATCH_TOLERANCE)
        differ = np.mean([_relative(r.elastic_tensor_ieee, r.elastic_tensor) > FRAME_TOLERANCE for r in members])
        back = np.mean(
            [
                _relative(from_ieee_frame(r.elastic_tensor_ieee, r.structure), r.elastic_tensor) < FRAME_TOLERANCE
                for r in members
            ]
        )
        s, i = structure_frame[system], ieee_frame[system]
        rows.append(
            f"| {system} | {s.n} | {s.fraction:.3f} ({s.n_within}) | {s.worst:.3f} | {i.fraction:.3f} ({i.n_within}) "
            f"| {i.worst:.3f} | {rotated:.3f} | {flagged:.3f} | {differ:.3f} | {back:.3f} |"
        )
    high = [structure_frame[s] for s in ("cubic", "hexagonal", "tetragonal")]
    pooled = sum(r.n_within for r in high) / sum(r.n for r in high)
    print(f"fraction of entries whose C changes by < {FRAME_TOLERANCE:.0%} under the point-group projection")
    print(
        "| crystal system | n | structure frame (n ok) | worst | IEEE frame (n ok) | worst | rotated cell "
        f"| flagged at {FRAME_MISMATCH_TOLERANCE:.0%} | C_ieee != C | from_ieee ok |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"cubic + hexagonal + tetragonal, structure frame: {pooled:.3f}")
    machine = platform.processor() or platform.machine()
    print(f"{time.perf_counter() - start:.0f} s, {machine}, python {platform.python_version()}")


if __name__ == "__main__":
    main()
