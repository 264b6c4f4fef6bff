"""Mixed supervision: the differentiable U -> C -> K_VRH, G_VRH of moduli-only records, and its training term."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Lattice, Structure

from stn_plugin.physics.sed import elastic_to_sed, sed_to_elastic
from stn_plugin.physics.symmetry import point_group_operations, structure_classes
from stn_plugin.physics.voigt import N_PAIRS
from stn_plugin.training.moduli_loss import expand_class_representatives, vrh_moduli

torch.set_num_threads(1)


def _random_stiffness(rng: np.random.Generator, scale: float = 100.0) -> np.ndarray:
    """A random symmetric positive-definite 6x6 stiffness, GPa."""
    a = rng.normal(size=(6, 6))
    return scale * (a @ a.T / 6 + 0.2 * np.eye(6))


def test_vrh_moduli_equal_pymatgen_on_random_positive_definite_tensors() -> None:
    rng = np.random.default_rng(0)
    C = np.stack([_random_stiffness(rng, scale) for scale in (5.0, 50.0, 300.0, 800.0)])
    bulk, shear = vrh_moduli(torch.as_tensor(C))
    for k, c in enumerate(C):
        tensor = ElasticTensor.from_voigt(c)
        assert float(bulk[k]) == pytest.approx(tensor.k_vrh, rel=1e-10)
        assert float(shear[k]) == pytest.approx(tensor.g_vrh, rel=1e-10)


def test_eq_3_on_torch_tensors_is_eq_3_on_numpy_arrays() -> None:
    """One Eq. 2 / Eq. 3 for numpy and torch: the tensor result equals the array result and inverts Eq. 2."""
    rng = np.random.default_rng(1)
    C = np.stack([_random_stiffness(rng) for _ in range(3)])
    volume = np.array([7.0, 12.5, 30.0])
    U = elastic_to_sed(C, volume, 0.02)
    ours = sed_to_elastic(torch.as_tensor(U), torch.as_tensor(volume), 0.02)
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), sed_to_elastic(U, volume, 0.02), rtol=1e-12)
    np.testing.assert_allclose(ours.numpy(), C, rtol=1e-10)
    back = elastic_to_sed(torch.as_tensor(C), torch.as_tensor(volume), 0.02)
    np.testing.assert_allclose(back.numpy(), U, rtol=1e-12)


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(2)
    U = torch.as_tensor(elastic_to_sed(_random_stiffness(rng)[None], [10.0], 0.02), dtype=torch.float64)
    volume = torch.tensor([10.0], dtype=torch.float64)

    def moduli(sed: torch.Tensor) -> tuple[torch.Tensor, ...]:
        symmetric = 0.5 * (sed + sed.transpose(-1, -2))
        return vrh_moduli(sed_to_elastic(symmetric, volume, 0.02))

    assert torch.autograd.gradcheck(moduli, (U.clone().requires_grad_(True),), eps=1e-6, atol=1e-6)


def test_near_singular_stiffness_gives_finite_moduli_and_gradients() -> None:
    C = torch.zeros((1, 6, 6), dtype=torch.float64)
    C[0, :3, :3] = 50.0  # rank one in the normal block: singular
    C[0, 3, 3] = C[0, 4, 4] = C[0, 5, 5] = 1e-9
    C.requires_grad_(True)
    bulk, shear = vrh_moduli(C)
    (bulk + shear).sum().backward()
    assert torch.isfinite(bulk).all() and torch.isfinite(shear).all()
    assert torch.isfinite(C.grad).all()
    # Voigt bulk 50 GPa; the Reuss bulk of C + 1 GPa I is 50.3 GPa (compliance of 50 J + I)
    assert float(bulk) == pytest.approx(0.5 * (50.0 + 1.0 / (3.0 - 9.0 * 50.0 / 151.0)), rel=1e-9)


def test_class_representatives_give_all_21_u_of_a_cubic_crystal() -> None:
    silicon = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    labels = torch.as_tensor(structure_classes(point_group_operations(silicon)))[None]
    assert len(set(labels[0].tolist())) < N_PAIRS
    C = np.zeros((6, 6))
    C[:3, :3] = 60.0
    np.fill_diagonal(C, [160.0] * 3 + [80.0] * 3)
    rows, cols = torch.triu_indices(6, 6)
    full = torch.as_tensor(elastic_to_sed(C, 11.0, 0.02))[rows, cols][None]
    representatives = torch.where(labels == torch.arange(N_PAIRS), full, torch.full_like(full, float("nan")))
    np.testing.assert_allclose(expand_class_representatives(representatives, labels).numpy(), full.numpy())
