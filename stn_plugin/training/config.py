"""Configuration of a training run and the named presets (a model config + a training config).

``load_preset("paper")`` reproduces the authors' hyperparameters (GPU; fully connected TFN kernels,
lmax 3, ``cell_radius_sphere`` edges, see :mod:`stn_plugin.models.config`); ``load_preset("cpu")`` is the recipe of
the bundled models (``configs/default.yaml`` is its YAML): a small encoder (lmax 1, ``radius`` 5 Angstrom edges
with gap bridging to 6.5 Angstrom) sized by measurement (docs/model.md) for a 2-core CPU, plus the bond-strain,
bond-bending and volume energies (not in the paper), per-volume L1, weight EMA, checkpoints chosen on the
validation C_ij MAE of the prediction users get. ``load_preset(name, architecture=...)`` swaps StrainTensorNet for one
of the Fig. 6 trial models with the same encoder and training setup. Every config round-trips through YAML
(``ExperimentConfig.from_yaml`` / ``to_yaml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from stn_plugin.models.config import Architecture, FrozenConfig, ModelConfig, StrainTensorNetConfig, TrialModelConfig


class TrainingConfig(FrozenConfig):
    """What the trainer needs (loss Eq. 9 = L1 + lambda_class * BCE)."""

    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    scheduler: Literal["cosine", "none"] = "cosine"
    min_lr: float = Field(1e-8, ge=0)
    batch_size: int = Field(2, ge=1, description="strained graphs per optimisation step")
    max_epochs: int = Field(501, ge=1)
    lambda_class: float = Field(10.0, ge=0)
    teacher_forcing_epochs: int = Field(10, ge=0)
    strains_per_material: Literal["one", "all"] = Field(
        "all", description="per epoch: one random strain from the minimal index set, or all of them"
    )
    redraw_onehot: bool = Field(True, description="re-draw the one-hot inside its degeneracy class each epoch")
    ema_decay: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="exponential moving average of the weights (decay per optimisation step); validation, "
        "checkpoints and the saved model use the averaged weights. None = no averaging",
    )
    sed_loss_weighting: Literal["per_atom", "per_volume"] = Field(
        "per_atom",
        description="L1 term of Eq. 9 on U in meV/atom as in the paper ('per_atom'); or each sample's error "
        "weighted by <1/V>/V (V = volume per atom, <> = mean over the training materials), i.e. an L1 on "
        "the strain energy per volume, which is what C (GPa) is made of ('per_volume'; not in the paper)",
    )
    monitor: Literal["val/sed_mae_mev", "val/cij_mae_gpa"] = Field(
        "val/sed_mae_mev", description="validation metric of the best checkpoint and of early stopping"
    )
    moduli_loss_weight: float = Field(
        0.0,
        ge=0,
        description="weight of the moduli-only term: mean (|K_VRH error| + |G_VRH error|) / moduli_loss_scale_gpa "
        "of moduli-only records, K and G from the predicted U -> C (training/moduli_loss.py); 0 = off",
    )
    moduli_loss_scale_gpa: float = Field(20.0, gt=0, description="GPa that count as 1 in the moduli-only term")
    moduli_materials_per_step: int = Field(2, ge=1, description="moduli-only materials per optimisation step")
    early_stopping_patience: int = Field(30, ge=1, description="in validations without improvement")
    val_every_n_epochs: int = Field(1, ge=1, description="validation (all 21 strains per material) cadence")
    val_batch_size: int = Field(4, ge=1)
    num_threads: int | None = Field(None, description="torch.set_num_threads; None = leave as is")
    init_from: str | None = Field(
        None,
        description="fine-tuning: a model (registry name or saved model folder) of one network whose weights and "
        "standardisation statistics start the training instead of a random initialisation; its architecture "
        "settings must equal `model` (vector_zero_threshold aside, a prediction-time setting). None = random",
    )
    seed: int = 0


class ExperimentConfig(FrozenConfig):
    """A named model + training configuration."""

    name: str
    model: ModelConfig = Field(default_factory=StrainTensorNetConfig)
    training: TrainingConfig = TrainingConfig()

    @classmethod
    def from_yaml(cls, path: str | Path) -> ExperimentConfig:
        """Load from a YAML file (same layout as :meth:`to_yaml`)."""
        return cls.model_validate(yaml.safe_load(Path(path).read_text()))

    def to_yaml(self, path: str | Path) -> None:
        """Write the full resolved config as YAML."""
        Path(path).write_text(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False))


_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "model": {
            "encoder": {
                "embedding_dim": 512,
                "num_attention_layers": 4,
                "channels": 32,
                "lmax": 3,
                "symmetry": "SO(3)",
                "tensor_product": "fc",
                "num_heads": 2,
                "radial_hidden": 128,
                "readout_dim": 128,
                "edge_strategy": "cell_radius_sphere",
                "edge_cutoff": 12.0,
                "radial_cutoff": 13.0,
            },
        },
        "training": {
            "lr": 1e-4,
            "scheduler": "cosine",
            "batch_size": 2,
            "max_epochs": 501,
            "lambda_class": 10.0,
            "teacher_forcing_epochs": 10,
            "strains_per_material": "all",
            "early_stopping_patience": 30,
        },
    },
    "cpu": {
        "model": {
            "encoder": {
                "embedding_dim": 64,
                "num_attention_layers": 3,
                "channels": 32,
                "lmax": 1,
                "symmetry": "O(3)",
                "tensor_product": "uvu",
                "num_heads": 2,
                "radial_hidden": 64,
                "readout_dim": 64,
                "edge_strategy": "radius",
                "edge_cutoff": 5.0,
                "edge_bridge_cutoff": 6.5,
                "radial_cutoff": 6.7,
            },
            "head": {"cond_hidden": 64, "hidden": 128},
            "bond_energy": True,
            "bond_shell": 1.15,
            "bond_angles": True,
            "volume_energy": True,
            "atom_stiffness": True,
            "atom_stiffness_channels": 8,
        },
        "training": {
            "lr": 1e-3,
            "scheduler": "cosine",
            "batch_size": 16,
            "max_epochs": 45,
            "lambda_class": 10.0,
            "teacher_forcing_epochs": 10,
            "strains_per_material": "one",
            "ema_decay": 0.998,
            "sed_loss_weighting": "per_volume",
            "monitor": "val/cij_mae_gpa",
            "early_stopping_patience": 15,
            "val_every_n_epochs": 2,
            "val_batch_size": 32,
            "num_threads": 1,
        },
    },
}

PRESETS: tuple[str, ...] = tuple(_PRESETS)


def load_preset(name: str, architecture: Architecture = "straintensornet") -> ExperimentConfig:
    """Preset ``name`` (``"paper"`` or ``"cpu"``) for ``architecture``; a ``.yaml`` path loads that file."""
    if name.endswith((".yaml", ".yml")):
        return ExperimentConfig.from_yaml(name)
    if name not in _PRESETS:
        raise KeyError(f"Unknown preset {name!r}; choose from {PRESETS} or pass a YAML path.")
    spec = _PRESETS[name]
    settings = spec["model"]
    if architecture != "straintensornet":  # the Fig. 6 models: the same encoder and heads, no StrainTensorNet terms
        settings = {key: value for key, value in settings.items() if key in TrialModelConfig.model_fields}
    model = {"architecture": architecture, **settings}
    suffix = "" if architecture == "straintensornet" else f"-{architecture}"
    return ExperimentConfig.model_validate({"name": f"{name}{suffix}", "model": model, "training": spec["training"]})
