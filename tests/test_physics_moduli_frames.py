"""Moduli (App. B, pymatgen averages, Born stability) and frame rotations (structure <-> IEEE)."""

from __future__ import annotations

import gzip
import json
from importlib.resources import files

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Structure
from scipy.spatial.transform import Rotation

from stn_plugin.physics.frames import from_ieee_frame, ieee_rotation, rotate_elastic_tensor, to_ieee_frame
from stn_plugin.physics.moduli import MODULI_KEYS, elastic_moduli, reuss_averages, voigt_averages
from stn_plugin.physics.symmetry import point_group_operations, project_elastic_tensor

from .test_physics_voigt_sed import random_stiffness


def _bundled_rows(n: int) -> list[dict]:
    path = files("stn_plugin") / "data" / "files" / "dejong2015_mp_elastic.jsonl.gz"
    with gzip.open(str(path), "rt") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


def test_appendix_b_formulas() -> None:
    C = random_stiffness(3)
    m = elastic_moduli(C)
    B = C[:3, :3].sum() / 9.0  # Eq. B1
    G = (
        sum(C[i, i] - C[i, j] for i in range(3) for j in range(3)) / 30.0 + sum(C[i, i] for i in range(3, 6)) / 5.0
    )  # Eq. B2
    assert m.bulk_voigt == pytest.approx(B)
    assert m.shear_voigt == pytest.approx(G)
    assert m.young == pytest.approx(9 * B * G / (3 * B + G))  # Eq. B3 (with 3B + G)
    assert m.poisson == pytest.approx((3 * B - 2 * G) / (6 * B + 2 * G))  # Eq. B4


def test_isotropic_solid_gives_lame_values() -> None:
    lam, mu = 60.0, 30.0
    C = np.zeros((6, 6))
    C[:3, :3] = lam
    C[np.arange(3), np.arange(3)] = lam + 2 * mu
    C[np.arange(3, 6), np.arange(3, 6)] = mu
    m = elastic_moduli(C)
    assert m.bulk_voigt == pytest.approx(lam + 2 * mu / 3) and m.bulk_reuss == pytest.approx(m.bulk_voigt)
    assert m.shear_vrh == pytest.approx(mu)
    assert m.young == pytest.approx(mu * (3 * lam + 2 * mu) / (lam + mu))
    assert m.poisson == pytest.approx(lam / (2 * (lam + mu)))
    assert m.universal_anisotropy == pytest.approx(0.0, abs=1e-12)
    assert m.born_stable


def test_moduli_agree_with_pymatgen_and_the_bundled_reference_values() -> None:
    for row in _bundled_rows(40):
        C = np.asarray(row["elastic_tensor"])
        m = elastic_moduli(ElasticTensor.from_voigt(C))
        et = ElasticTensor.from_voigt(C)
        assert m.bulk_reuss == pytest.approx(et.k_reuss) and m.shear_vrh == pytest.approx(et.g_vrh)
        assert m.bulk_voigt == pytest.approx(row["K_Voigt"], rel=1e-6, abs=2e-3)
        assert m.shear_voigt == pytest.approx(row["G_Voigt"], rel=1e-6, abs=2e-3)
        assert m.bulk_reuss == pytest.approx(row["K_Reuss"], rel=1e-5, abs=2e-3)  # reference rounded to 1e-3
        assert m.shear_vrh == pytest.approx(row["G_VRH"], rel=1e-5, abs=2e-3)
    assert set(m.as_mapping()) == set(MODULI_KEYS)


def test_batched_averages_equal_pymatgen_for_numpy_and_torch() -> None:
    rng = np.random.default_rng(3)
    C = np.stack([random_stiffness(rng) for _ in range(5)])
    reference = np.array(
        [[e.k_voigt, e.g_voigt, e.k_reuss, e.g_reuss] for e in (ElasticTensor.from_voigt(c) for c in C)]
    )
    for array, invert in ((C, np.linalg.inv), (torch.as_tensor(C), torch.linalg.inv)):
        ours = np.column_stack([np.asarray(x) for x in (*voigt_averages(array), *reuss_averages(invert(array)))])
        np.testing.assert_allclose(ours, reference, rtol=1e-10)


def test_born_stability_and_singular_tensors() -> None:
    C = random_stiffness(4)
    C[3, 3] = -5.0
    m = elastic_moduli(C)
    assert not m.born_stable and m.min_eigenvalue < 0
    singular = np.zeros((6, 6))
    singular[:3, :3] = 100.0
    m = elastic_moduli(singular)
    assert np.isnan(m.bulk_reuss) and m.bulk_voigt == pytest.approx(100.0)
    with pytest.raises(ValueError, match="6x6"):
        elastic_moduli(np.full((6, 6), np.nan))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_rotation_matches_pymatgen_and_preserves_invariants(seed: int) -> None:
    C = random_stiffness(seed)
    R = Rotation.random(random_state=seed).as_matrix()
    C_rot = rotate_elastic_tensor(C, R)
    np.testing.assert_allclose(C_rot, ElasticTensor.from_voigt(C).rotate(R).voigt, atol=1e-9)
    np.testing.assert_allclose(rotate_elastic_tensor(C_rot, R.T), C, atol=1e-9)
    a, b = elastic_moduli(C), elastic_moduli(C_rot)
    for key in ("bulk_voigt", "shear_voigt", "bulk_reuss", "shear_reuss"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-9)


def test_rotation_rejects_non_orthogonal_matrix() -> None:
    with pytest.raises(ValueError, match="orthogonal"):
        rotate_elastic_tensor(np.eye(6), np.diag([1.0, 2.0, 1.0]))


def test_ieee_round_trip_keeps_point_group_invariance() -> None:
    """to_ieee_frame/from_ieee_frame are inverse; a symmetric C stays invariant under the rotated point group."""
    for row in _bundled_rows(12):
        s = Structure.from_dict(row["structure"])
        ops = point_group_operations(s)
        C = project_elastic_tensor(np.asarray(row["elastic_tensor_original"]), ops)
        C_ieee = to_ieee_frame(C, s)
        np.testing.assert_allclose(from_ieee_frame(C_ieee, s), C, atol=1e-8 * np.abs(C).max())
        R = ieee_rotation(s)
        ops_ieee = np.einsum("ab,nbc,dc->nad", R, ops, R)
        np.testing.assert_allclose(project_elastic_tensor(C_ieee, ops_ieee), C_ieee, atol=1e-8 * np.abs(C).max())


def test_rotation_by_the_bond_matrix_is_the_rank_4_rotation_of_pymatgen() -> None:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 6))
    C = 40.0 * A @ A.T
    for seed, sign in ((1, 1.0), (2, -1.0)):  # proper and improper
        R = sign * Rotation.random(random_state=seed).as_matrix()
        np.testing.assert_allclose(rotate_elastic_tensor(C, R), ElasticTensor.from_voigt(C).rotate(R).voigt, atol=1e-9)
    with pytest.raises(ValueError, match="orthogonal"):
        rotate_elastic_tensor(C, 2 * np.eye(3))
