"""The same crystal gives the same tensor: rotated copies, primitive / conventional / supercell / other settings.

The bundled model predicts on the canonical cell strained along its own axes and rotates C back exactly
(``docs/conventions.md``, "Frames"), so for any proper rotation Q, ``predict(Q s) = Q . predict(s)`` and every
cell of one crystal gives one tensor, to float round-off. Nothing is trained here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation

import stn_plugin
from stn_plugin.physics.frames import rotate_elastic_tensor
from tests.graph_fixtures import SYSTEM_EXAMPLES, bundled_structures, graphite, rotated, triclinic

torch.set_num_threads(1)

ROTATIONS = 5
RELATIVE_TOLERANCE = 1e-3
MODULUS_TOLERANCE_GPA = 1e-3


def alpha_quartz() -> Structure:
    """alpha-quartz (P3_121, a = 4.916, c = 5.405 Angstrom), a chiral trigonal crystal."""
    return Structure.from_spacegroup(
        "P3_121", Lattice.hexagonal(4.916, 5.405), ["Si", "O"], [[0.4697, 0.0, 0.0], [0.4135, 0.2669, 0.1191]]
    )


def _crystals() -> dict[str, Structure]:
    structures = bundled_structures()
    systems = ("cubic", "tetragonal", "orthorhombic", "hexagonal", "trigonal-R", "monoclinic")
    crystals = {name: structures[SYSTEM_EXAMPLES[name]] for name in systems}
    return {**crystals, "triclinic": triclinic(), "graphite": graphite(), "quartz": alpha_quartz()}


CRYSTALS = _crystals()


@pytest.fixture(scope="module")
def model():
    return stn_plugin.load("stn-mp-2023")


def _variants(structure: Structure) -> dict[str, tuple[Structure, np.ndarray]]:
    """Other descriptions of the same crystal and the rotation Q that maps the reference frame onto theirs."""
    identity = np.eye(3)
    settings = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])  # a unimodular change of basis: another cell setting
    primitive = structure.get_primitive_structure()  # pymatgen keeps the Cartesian frame
    # the given (conventional) cell rebuilt from the primitive one: other atom order and origin, same frame
    to_conventional = np.rint(structure.lattice.matrix @ np.linalg.inv(primitive.lattice.matrix)).astype(int)
    variants = {
        "primitive": (primitive, identity),
        "conventional from primitive": (primitive.make_supercell(to_conventional, in_place=False), identity),
        "supercell 2x1x1": (structure * (2, 1, 1), identity),
        "other setting": (structure.make_supercell(settings, in_place=False), identity),
    }
    for seed in range(ROTATIONS):
        Q = Rotation.random(random_state=seed).as_matrix()
        variants[f"rotation {seed}"] = (rotated(structure, Q), Q)
    return variants


@pytest.mark.parametrize("name", list(CRYSTALS))
def test_prediction_rotates_with_the_crystal_and_ignores_the_cell_choice(model, name: str) -> None:
    structure = CRYSTALS[name]
    variants = _variants(structure)
    predictions = model.predict_structures([structure, *(s for s, _ in variants.values())])
    reference = predictions[0]
    C = np.asarray(reference.elastic_tensor.voigt)
    for (label, (_, Q)), prediction in zip(variants.items(), predictions[1:], strict=True):
        back = rotate_elastic_tensor(prediction.elastic_tensor.voigt, Q.T)
        assert np.linalg.norm(back - C) / np.linalg.norm(C) < RELATIVE_TOLERANCE, label
        for key in ("bulk_voigt", "shear_voigt"):
            assert prediction.moduli[key] == pytest.approx(reference.moduli[key], abs=MODULUS_TOLERANCE_GPA), label
        # U is the SED of the user's strains: Eq. 2 of the user-frame C
        np.testing.assert_allclose(prediction.sed, prediction.sed.T)


def test_rotated_prediction_is_not_the_unrotated_one(model) -> None:
    """The check above is not vacuous: a low-symmetry crystal's C does change with the frame."""
    structure = CRYSTALS["monoclinic"]
    Q = Rotation.random(random_state=0).as_matrix()
    plain, turned = model.predict_structures([structure, rotated(structure, Q)])
    C, C_rotated = np.asarray(plain.elastic_tensor.voigt), np.asarray(turned.elastic_tensor.voigt)
    assert np.linalg.norm(C_rotated - C) / np.linalg.norm(C) > 0.05
    np.testing.assert_allclose(C_rotated, rotate_elastic_tensor(C, Q), atol=RELATIVE_TOLERANCE * np.abs(C).max())


def molybdenite_layers(gap: float) -> Structure:
    """MoS2 layers (a = 3.19 Angstrom, S 1.56 Angstrom above and below Mo) stacked with S over S, ``gap`` Angstrom
    apart (3 Angstrom in the crystal; PBE relaxations leave some Materials Project entries with wider gaps)."""
    c = 2 * 1.56 + gap
    return Structure(
        Lattice.hexagonal(3.19, c),
        ["Mo", "S", "S"],
        [[1 / 3, 2 / 3, 0.0], [2 / 3, 1 / 3, 1.56 / c], [2 / 3, 1 / 3, -1.56 / c]],
    )


def test_the_default_model_predicts_layered_crystals_and_refuses_slabs(model) -> None:
    """Layers 6 Angstrom apart are a bulk crystal (edges bridge the gap), and so are layers 8 Angstrom apart (beyond
    the bridge: the layers are uncoupled in the graph); 10 Angstrom of vacuum is a slab."""
    from pymatgen.core.surface import SlabGenerator

    from stn_plugin.graph import periodic_dimensions
    from stn_plugin.structure.checks import NotBulkCrystalError
    from tests.test_graph_edges import layered

    for crystal, coupled in ((layered(8.0), True), (layered(10.0), False), (molybdenite_layers(8.0), False)):
        material = model.converter.prepare(crystal)
        assert (periodic_dimensions(material.edges, material.num_atoms) == 3) == coupled
        C = np.asarray(model.predict_structure(crystal).elastic_tensor.voigt)
        assert np.all(np.isfinite(C)) and C[2, 2] > 0.0
    rocksalt = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    slab = SlabGenerator(rocksalt, (0, 0, 1), 6, 10, center_slab=True).get_slab()
    for vacuum in (layered(12.0), molybdenite_layers(10.0), slab):
        with pytest.raises(NotBulkCrystalError, match="slab or isolated layer"):
            model.predict_structure(vacuum)
