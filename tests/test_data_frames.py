"""Frame check: the shipped tensors are in the Cartesian frame of their structures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymatgen.core.operations import SymmOp
from pymatgen.core.structure import Structure
from scipy.spatial.transform import Rotation

from stn_plugin.data.frame_consistency import frame_consistency, projection_residual
from stn_plugin.data.loaders import load_bundled_dataset
from stn_plugin.physics.frames import rotate_elastic_tensor

from .fixtures.factories import cscl_structure, cubic_tensor, make_record

ANISOTROPIC_CUBIC = cubic_tensor(c11=250.0, c12=150.0, c44=120.0)  # Zener ratio 2.4


def _rotated(structure: Structure, rotation: np.ndarray) -> Structure:
    turned = structure.copy()
    turned.apply_operation(SymmOp.from_rotation_and_translation(rotation, [0, 0, 0]))
    return turned


def test_residual_detects_a_turned_cell() -> None:
    assert projection_residual(ANISOTROPIC_CUBIC, cscl_structure()) < 1e-12
    turn = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    assert projection_residual(ANISOTROPIC_CUBIC, _rotated(cscl_structure(), turn)) > 0.1
    # the same turn applied to the tensor too: consistent again
    assert projection_residual(rotate_elastic_tensor(ANISOTROPIC_CUBIC, turn), _rotated(cscl_structure(), turn)) < 1e-9


@settings(max_examples=10, deadline=None)
@given(quaternion=st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda q: np.linalg.norm(q) > 0.1))
def test_residual_is_frame_independent(quaternion: list[float]) -> None:
    """Turning structure and tensor together leaves the residual unchanged (noisy C, any rotation)."""
    R = Rotation.from_quat(quaternion).as_matrix()
    noisy = ANISOTROPIC_CUBIC + np.diag([3.0, 0.0, -2.0, 1.0, 0.0, 0.0])
    before = projection_residual(noisy, cscl_structure())
    after = projection_residual(rotate_elastic_tensor(noisy, R), _rotated(cscl_structure(), R))
    assert before > 0.005 and after == pytest.approx(before, rel=1e-6)


def test_frame_consistency_counts() -> None:
    turn = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    records = [
        make_record("aligned", ANISOTROPIC_CUBIC, elastic_tensor_ieee=ANISOTROPIC_CUBIC),
        make_record("turned", ANISOTROPIC_CUBIC, structure=_rotated(cscl_structure(), turn)),
    ]
    (cubic,) = frame_consistency(records).values()
    assert (cubic.crystal_system, cubic.n, cubic.n_within, cubic.fraction) == ("cubic", 2, 1, 0.5)
    assert cubic.worst > 0.1
    assert frame_consistency(records, "ieee")["cubic"].n == 1  # records without an IEEE tensor are skipped


@pytest.mark.slow
def test_bundled_tensors_are_in_the_structure_frame() -> None:
    """>= 95 % of cubic/hexagonal/tetragonal entries change by < 2 % under projection (docs/data.md)."""
    records = [r for r in load_bundled_dataset() if r.crystal_system in ("cubic", "hexagonal", "tetragonal")]
    results = frame_consistency(records)
    within = sum(r.n_within for r in results.values())
    assert len(records) == 751
    assert within / len(records) >= 0.95, {s: r.fraction for s, r in results.items()}
    # the check has teeth: the same tensors against randomly turned cells mostly fail
    rng = np.random.default_rng(0)
    sample = records[::25]
    turned = [
        projection_residual(r.elastic_tensor, _rotated(r.structure, Rotation.random(random_state=rng).as_matrix()))
        for r in sample
    ]
    assert np.mean(np.array(turned) < 0.02) < 0.2
