"""StrainTensorNet and the Fig. 6 trial models: invariances, wiring of Fig. 3, save/load, training, configs."""

from __future__ import annotations

import matgl
import numpy as np
import pytest
import torch
from e3nn import o3
from pydantic import ValidationError
from torch_geometric.data import Batch

from stn_plugin.models import (
    ARCHITECTURES,
    DcvPooledModel,
    StrainTensorNet,
    build_model,
)
from stn_plugin.physics.moduli import MODULI_KEYS
from stn_plugin.physics.voigt import N_PAIRS
from stn_plugin.predictor import ElasticPrediction, ElasticPredictor
from stn_plugin.training.config import ExperimentConfig, load_preset
from tests.graph_contract import contract_graph, random_structure

torch.set_num_threads(1)

TINY_ENCODER = {
    "embedding_dim": 8,
    "num_attention_layers": 2,
    "channels": 4,
    "lmax": 2,
    "num_heads": 2,
    "key_dim": 4,
    "num_radial_basis": 6,
    "radial_hidden": 8,
    "radial_layers": 1,
    "readout_dim": 8,
    "edge_strategy": "radius",
    "edge_cutoff": 4.0,
    "radial_cutoff": 4.2,
}
TINY_HEAD = {"cond_hidden": 8, "hidden": 16}
STATS = {
    "atom_scalar_mean": [40.0, 2.0, 20.0, 1.2],
    "atom_scalar_std": [20.0, 0.8, 10.0, 0.4],
    "sed_mean": 5.0,
    "sed_std": 2.0,
}


def tiny_config(
    architecture: str = "straintensornet",
    bond_energy: bool = False,
    bond_shell: float | None = None,
    bond_angles: bool = False,
    volume_energy: bool = False,
    atom_stiffness: bool = False,
    **encoder,
) -> dict:
    config = {"architecture": architecture, "encoder": {**TINY_ENCODER, **encoder}, "head": TINY_HEAD}
    if bond_energy or volume_energy:
        config.update(
            bond_energy=bond_energy, bond_shell=bond_shell, bond_angles=bond_angles, volume_energy=volume_energy
        )
    if atom_stiffness:
        config.update(atom_stiffness=True, atom_stiffness_channels=3)
    return config


def tiny_network(architecture: str = "straintensornet", **options) -> torch.nn.Module:
    """A randomly initialised network of a few hundred parameters (:func:`tiny_config`)."""
    return ARCHITECTURES[architecture](tiny_config(architecture, **options))


def tiny_model(architecture: str = "straintensornet", **options) -> ElasticPredictor:
    """The predictor of one :func:`tiny_network` with the statistics ``STATS``."""
    return ElasticPredictor([tiny_config(architecture, **options)], [STATS])


def tiny_batch(seed: int = 0, sizes=((3, 0), (5, 7), (4, 20))) -> Batch:
    rng = np.random.default_rng(seed)
    graphs = [contract_graph(random_structure(n, rng), pair, cutoff=4.0) for n, pair in sizes]
    for g in graphs:
        g.dcv = torch.from_numpy(rng.integers(0, 2, (1, N_PAIRS))).float()
    return Batch.from_data_list(graphs)


@pytest.fixture
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def network_output(model: ElasticPredictor, batch: Batch, dcv=None):
    """The :class:`StnOutput` of the predictor's (first) network on ``batch``, atom scalars standardised."""
    return model.network_outputs(batch, dcv)[0]


def _outputs(model, batch, dcv=None):
    out = network_output(model, batch, dcv)
    return out.sed_normalized, out.dcv_logits


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
@pytest.mark.parametrize("symmetry", ["O(3)", "SO(3)"])
def test_invariant_under_rotation_of_edge_vectors(float64, architecture, symmetry):
    torch.manual_seed(0)
    model = tiny_model(architecture, symmetry=symmetry).double()
    batch = tiny_batch()
    rotated = batch.clone()
    R = o3.rand_matrix(dtype=torch.float64)
    rotated.edge_vec = batch.edge_vec.double() @ R.T
    batch.edge_vec = batch.edge_vec.double()
    for a, b in zip(_outputs(model, batch), _outputs(model, rotated), strict=True):
        if a is not None:
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_invariant_under_atom_permutation(architecture):
    torch.manual_seed(0)
    model = tiny_model(architecture).eval()
    batch = tiny_batch()
    perm = torch.cat([torch.randperm(int(c)) + int(s) for c, s in zip(batch.ptr.diff(), batch.ptr[:-1], strict=True)])
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm))
    permuted = batch.clone()
    for key in ("atomic_numbers", "node_type", "atom_scalars", "frac_coords", "batch"):
        permuted[key] = batch[key][perm]
    permuted.edge_index = inverse[batch.edge_index]
    for a, b in zip(_outputs(model, batch), _outputs(model, permuted), strict=True):
        if a is not None:
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_classifier_sees_onehot_and_regressor_sees_dcv():
    torch.manual_seed(0)
    model = tiny_model().eval()
    batch = tiny_batch()
    teacher = batch.dcv
    other = batch.clone()
    other.strain_onehot = torch.roll(batch.strain_onehot, 3, dims=1)
    with torch.no_grad():
        sed, logits = _outputs(model, batch, teacher)
        sed_other, logits_other = _outputs(model, other, teacher)
        sed_dcv, logits_dcv = _outputs(model, batch, 1.0 - teacher)
        sed_free, _ = _outputs(model, batch)
        sed_free_other, _ = _outputs(model, other)
    assert logits.shape == (3, N_PAIRS) and sed.shape == (3,)
    torch.testing.assert_close(sed, sed_other)  # one-hot never reaches the regressor directly
    assert not torch.allclose(logits, logits_other)  # ... but it does reach the classifier
    torch.testing.assert_close(logits, logits_dcv)  # the DCV does not reach the classifier
    assert not torch.allclose(sed, sed_dcv)  # ... but it does reach the regressor
    assert not torch.allclose(sed_free, sed_free_other)  # predicted DCV = sigmoid(10 y) couples them
    out = network_output(model, other)
    torch.testing.assert_close(out.dcv, torch.sigmoid(10 * out.dcv_logits))
    assert model.networks[0].feature_dict["dcv"] is out.dcv


def test_trial_models_use_the_known_dcv():
    torch.manual_seed(0)
    batch = tiny_batch()
    for architecture in ("fig6b", "fig6c"):
        model = tiny_model(architecture).eval()
        sed_data, logits = _outputs(model, batch)
        assert logits is None
        torch.testing.assert_close(network_output(model, batch).dcv, batch.dcv)
        torch.testing.assert_close(sed_data, _outputs(model, batch, batch.dcv)[0])
        assert not torch.allclose(sed_data, _outputs(model, batch, 1.0 - batch.dcv)[0])
    minimal = tiny_model("fig6a").eval()
    torch.testing.assert_close(_outputs(minimal, batch)[0], _outputs(minimal, batch, 1.0 - batch.dcv)[0])
    assert network_output(minimal, batch).dcv is None
    with pytest.raises(ValueError):
        DcvPooledModel({"architecture": "fig6a"})


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_save_and_matgl_load_model_round_trip(tmp_path, architecture):
    """The predictor is the saved object: its networks, statistics, strain and symmetry tolerance come back from
    ``model.json`` / ``model.pt`` / ``state.pt`` through matgl's loader, and so do the outputs, bit for bit."""
    torch.manual_seed(0)
    statistics = {
        "atom_scalar_mean": [1.0, 2.0, 3.0, 4.0],
        "atom_scalar_std": [2.0] * 4,
        "sed_mean": 7.0,
        "sed_std": 3.0,
    }
    model = ElasticPredictor([tiny_config(architecture)], [statistics], strain=0.01, symprec=0.05).eval()
    batch = tiny_batch()
    model.save(tmp_path / "model")
    loaded = matgl.load_model(tmp_path / "model").eval()
    assert type(loaded) is ElasticPredictor and loaded.networks[0].config == model.networks[0].config
    assert loaded.statistics == model.statistics and float(loaded.sed_mean[0]) == 7.0
    assert (loaded.strain, loaded.symprec, loaded.angle_tolerance) == (0.01, 0.05, model.angle_tolerance)
    assert loaded.converter.magnitude == 0.01 and loaded.converter.symprec == 0.05
    assert loaded.encoder_config.edge_strategy == "radius" and loaded.encoder_config.edge_cutoff == 4.0
    for a, b in zip(_outputs(model, batch), _outputs(loaded, batch), strict=True):
        if a is not None:
            torch.testing.assert_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(model(batch).sed, loaded(batch).sed, atol=0, rtol=0)


def test_loss_decreases_eq9():
    """A few Adam steps on a tiny synthetic set lower L1 + lambda * BCE (Eq. 9)."""
    torch.manual_seed(0)
    model = tiny_model()
    batch = tiny_batch(sizes=((3, 0), (5, 7), (4, 20), (6, 3)))
    target = torch.tensor([0.5, -1.0, 1.5, 0.0])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loss_fn() -> torch.Tensor:
        out = network_output(model, batch)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(out.dcv_logits, batch.dcv)
        return torch.nn.functional.l1_loss(out.sed_normalized, target) + 10.0 * bce

    initial = loss_fn().item()
    for _ in range(20):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
    assert loss_fn().item() < 0.8 * initial


@pytest.mark.parametrize("architecture", ["straintensornet", "fig6b"])
def test_predict_structure(architecture):
    """Uses the real converter (stn_plugin.graph) with the model's edge settings."""
    from pymatgen.core import Lattice, Structure

    torch.manual_seed(0)
    model = tiny_model(architecture)

    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    predictions = model.predict_structures([nacl, nacl.copy()], symmetrize=False)
    assert model.training  # train mode restored
    alone = model.predict_structure(nacl, symmetrize=False)
    np.testing.assert_allclose(predictions[0].sed, alone.sed, rtol=0, atol=1e-5)  # batched U = U predicted alone
    p = predictions[0]
    assert isinstance(p, ElasticPrediction)
    assert p.sed.shape == (6, 6) and np.allclose(p.sed, p.sed.T) and p.dcv.shape == (N_PAIRS, N_PAIRS)
    assert set(p.moduli) == set(MODULI_KEYS)
    assert p.strain == pytest.approx(0.02) and np.allclose(predictions[1].sed, p.sed, atol=1e-5)
    if architecture == "fig6b":  # the known DCV, as the converter provides it
        known = torch.cat([g.dcv for g in model.strained_graphs(nacl)[1]]).numpy()
        np.testing.assert_array_equal(p.dcv, known)
    sym = model.predict_structure(nacl, symmetrize=True)
    C = sym.elastic_tensor.voigt
    assert sym.symmetrized and np.isclose(C[0, 0], C[1, 1]) and np.isclose(C[0, 1], C[1, 2]) and abs(C[0, 3]) < 1e-8


def test_presets_and_yaml(tmp_path):
    paper, cpu = load_preset("paper"), load_preset("cpu")
    enc = paper.model.encoder
    assert (enc.embedding_dim, enc.num_attention_layers, enc.channels, enc.lmax, enc.num_heads) == (512, 4, 32, 3, 2)
    assert (enc.radial_hidden, enc.readout_dim, enc.tensor_product, enc.edge_strategy) == (
        128,
        128,
        "fc",
        "cell_radius_sphere",
    )
    t = paper.training
    assert (t.lr, t.scheduler, t.lambda_class, t.teacher_forcing_epochs, t.batch_size) == (1e-4, "cosine", 10.0, 10, 2)
    assert cpu.model.encoder.tensor_product == "uvu" and cpu.training.strains_per_material == "one"
    assert load_preset("cpu", "fig6c").model.architecture == "fig6c"
    cpu.to_yaml(tmp_path / "cpu.yaml")
    assert load_preset(str(tmp_path / "cpu.yaml")) == cpu == ExperimentConfig.from_yaml(tmp_path / "cpu.yaml")
    assert isinstance(build_model(cpu.model), StrainTensorNet)
    with pytest.raises(KeyError):
        load_preset("huge")
    with pytest.raises(ValidationError):
        ExperimentConfig.model_validate({"name": "x", "model": {"encoder": {"lmax": -1}}})


@pytest.mark.parametrize(("threshold", "stable"), [(1e-4, True), (0.0, False)])
def test_symmetry_zero_vectors_do_not_amplify_round_off(threshold, stable):
    """bcc W with stn-mp-2023-fast: the l = 1 features of every site vanish by site symmetry, and round-off must not
    turn them into unit vectors. With the threshold set on the encoder's nonlinearities, float32 and float64 agree to
    round-off (about 2e-4 GPa); without it (0.0) they differ by about 1 GPa, the bug the threshold fixes.
    """
    from pymatgen.core import Lattice, Structure

    import stn_plugin

    model = stn_plugin.load("stn-mp-2023-fast")
    for layer in model.networks[0].encoder.nonlinearities:
        layer.zero_threshold = threshold
    tungsten = Structure.from_spacegroup("Im-3m", Lattice.cubic(3.16), ["W"], [[0, 0, 0]])
    c32 = model.predict_structure(tungsten, symmetrize=False).elastic_tensor.voigt
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        c64 = model.double().predict_structure(tungsten, symmetrize=False).elastic_tensor.voigt
    finally:
        torch.set_default_dtype(previous)
    deviation_gpa = np.abs(c32 - c64).max()
    assert (deviation_gpa < 0.01) == stable, deviation_gpa


def test_the_recipe_and_its_ablation_build_the_bundled_networks():
    """configs/default.yaml is the ``cpu`` preset (the recipe); configs/no-atom-stiffness.yaml is the recipe without
    the atom stiffness energy and has the settings of the first network of stn-mp-2023, which is stn-mp-2023-fast;
    the second network is that without first-shell selection, bending and volume terms (bond springs on every edge);
    configs/finetune.yaml starts from stn-mp-2023-fast."""
    from pathlib import Path

    import stn_plugin
    from stn_plugin.training.train import initial_model

    configs = Path(__file__).parents[1] / "configs"
    recipe = ExperimentConfig.from_yaml(configs / "default.yaml")
    assert recipe.model_copy(update={"name": "cpu"}) == load_preset("cpu")
    ablation = ExperimentConfig.from_yaml(configs / "no-atom-stiffness.yaml")
    assert ablation.training == recipe.training and recipe.model.atom_stiffness
    assert ablation.model == recipe.model.model_copy(update={"atom_stiffness": False})
    default, fast = stn_plugin.load("stn-mp-2023"), stn_plugin.load("stn-mp-2023-fast")
    assert default.networks[0].config == ablation.model == fast.networks[0].config
    springs_only = {"bond_shell": None, "bond_angles": False, "volume_energy": False}
    assert default.networks[1].config == ablation.model.model_copy(update=springs_only)
    finetune = ExperimentConfig.from_yaml(configs / "finetune.yaml").model
    assert isinstance(initial_model(finetune, None, "stn-mp-2023-fast").networks[0], StrainTensorNet)
