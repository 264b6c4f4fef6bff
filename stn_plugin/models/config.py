"""Pydantic configurations of the model family: encoder, heads, trial models, ensembles.

The training run's configuration and the named presets live in :mod:`stn_plugin.training.config`:
``load_preset("paper")`` reproduces the authors' hyperparameters (GPU; fully connected TFN kernels,
lmax 3, ``cell_radius_sphere`` edges: the rule of the authors' released code, on which their models were
trained; its edges are at most s + delta = 12.5 Angstrom long, inside the paper's 13 Angstrom radial cutoff,
while the paper's box alone, ``cell_radius``, reaches sqrt(3) x 12.5 = 21.7 Angstrom); ``load_preset("cpu")``
(``radius`` 5 Angstrom edges) is sized by measurement (docs/model.md) to train
to convergence on ~800 materials within 2 h on a 2-core CPU. ``load_preset(name, architecture=...)``
swaps StrainTensorNet for one of the Fig. 6 trial models with the same encoder and training setup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stn_plugin.layers.irreps import SymmetryGroup
from stn_plugin.layers.tensor_product import TensorProductKind
from stn_plugin.physics.voigt import max_stretch

if TYPE_CHECKING:
    from stn_plugin.graph.edges import EdgeStrategy as EdgeStrategyImpl

EdgeStrategy = Literal["cell_radius", "cell_radius_sphere", "radius"]
Architecture = Literal["straintensornet", "fig6a", "fig6b", "fig6c"]


MAX_STRETCH: float = max_stretch()
"""Largest length factor of an edge under the 21 strain states at the default 2 % strain (about 1.0241)."""


class FrozenConfig(BaseModel):
    """Base of every config: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EncoderConfig(FrozenConfig):
    """Shared equivariant encoder (Fig. 3 / Fig. 6 top): embedding -> attention layers -> TFN readouts.

    Lengths in Angstrom. ``edge_strategy`` / ``edge_cutoff`` are the graph settings the model was
    trained with (for ``cell_radius`` and ``cell_radius_sphere`` the cutoff is the box cap s); ``radial_cutoff``
    is the support of the radial basis and should cover the longest strained edge
    (the strategy's longest edge times :data:`MAX_STRETCH`): required for ``cell_radius`` and gap bridging; plain
    ``radius`` and ``cell_radius_sphere`` need only exceed the longest unstrained edge, the check saved models passed.
    """

    embedding_dim: int = Field(512, gt=0, description="Z embedding size")
    max_atomic_number: int = Field(94, gt=0)
    num_attention_layers: int = Field(4, ge=1)
    channels: int = Field(32, gt=0, description="channels per degree of the hidden features")
    lmax: int = Field(3, ge=0, le=6)
    symmetry: SymmetryGroup = "O(3)"
    tensor_product: TensorProductKind = "uvu"
    num_heads: int = Field(2, ge=1)
    key_dim: int = Field(16, gt=0, description="attention key/query size per head")
    num_radial_basis: int = Field(8, gt=0)
    radial_hidden: int = Field(128, gt=0)
    radial_layers: int = Field(2, ge=1)
    readout_dim: int = Field(128, gt=0, description="scalars of f_reg / f_class per node")
    edge_strategy: EdgeStrategy = "cell_radius_sphere"
    edge_cutoff: float = Field(12.0, gt=0)
    edge_bridge_cutoff: float | None = Field(
        None,
        gt=0,
        description="radius edges only: longest gap-bridging edge (Angstrom) added when the edges within "
        "edge_cutoff leave a structure less than 3-periodic (layered crystals); None = off",
    )
    radial_cutoff: float = Field(13.0, gt=0)
    vector_zero_threshold: float = Field(
        1e-4, ge=0, description="l > 0 feature norms at or below it are zero in the norm nonlinearity (0 = off)"
    )

    def build_edge_strategy(self) -> EdgeStrategyImpl:
        """The graph edge strategy these settings describe (``edge_cutoff`` = radius, or the box cap s)."""
        from stn_plugin.graph import get_edge_strategy

        params = {
            "cell_radius": {"s": self.edge_cutoff},
            "cell_radius_sphere": {"s": self.edge_cutoff},
            "radius": {"cutoff": self.edge_cutoff, "bridge_cutoff": self.edge_bridge_cutoff},
        }
        return get_edge_strategy(self.edge_strategy, **params.get(self.edge_strategy, {}))

    @model_validator(mode="after")
    def _check(self) -> EncoderConfig:
        if self.channels % self.num_heads:
            raise ValueError("channels must be divisible by num_heads.")
        if self.edge_bridge_cutoff is not None and self.edge_strategy != "radius":
            raise ValueError(f"edge_bridge_cutoff applies to radius edges only, not {self.edge_strategy}.")
        longest = self.build_edge_strategy().longest_edge()  # also checks edge_cutoff / edge_bridge_cutoff
        if longest is None:
            return self
        # The paper's box and gap bridging must cover the strained edges; plain radius and the sphere-intersect-box
        # keep the check saved models passed: exceed the unstrained edges.
        if self.edge_strategy == "cell_radius" or self.edge_bridge_cutoff is not None:
            if self.radial_cutoff < longest * MAX_STRETCH:
                raise ValueError(
                    f"radial_cutoff ({self.radial_cutoff}) must cover the longest strained {self.edge_strategy} "
                    f"edge: {longest:g} Angstrom x {MAX_STRETCH:.4f} (2 % strain) = {longest * MAX_STRETCH:.3f} Angstrom."
                )
        elif self.radial_cutoff <= longest:
            raise ValueError(
                f"radial_cutoff ({self.radial_cutoff}) must exceed the longest {self.edge_strategy} edge, {longest:g} "
                f"Angstrom (strained edges are up to {MAX_STRETCH:.4f} times longer)."
            )
        return self


class HeadConfig(FrozenConfig):
    """Heads of Fig. 3: condition (one-hot / DCV, 21) -> MLP(cond_hidden x2); concat pooled -> MLP(hidden) -> out."""

    cond_hidden: int = Field(128, gt=0)
    hidden: int = Field(256, gt=0)


class StrainTensorNetConfig(FrozenConfig):
    """StrainTensorNet (Fig. 3): DCV classifier + SED regressor on one encoder."""

    architecture: Literal["straintensornet"] = "straintensornet"
    encoder: EncoderConfig = EncoderConfig()
    head: HeadConfig = HeadConfig()
    dcv_sharpness: float = Field(10.0, gt=0, description="DCV fed to the regressor = sigmoid(sharpness * logits)")
    bond_energy: bool = Field(
        False,
        description="add to the regressor's U a sum of learned bond springs times the squared strain projected on "
        "each bond (BondStrainEnergy); gives the SED the direction of the strain relative to the bonds; not in "
        "the paper",
    )
    bond_shell: float | None = Field(
        None,
        ge=1.0,
        description="keep only first-shell bonds in the bond energy: a bond of length r between atoms whose nearest "
        "neighbours are d_i, d_j away keeps its spring for r <= bond_shell * max(d_i, d_j) and loses it smoothly "
        "by (bond_shell + SHELL_FADE) * max(d_i, d_j) (first_shell_weight); None = every edge of the graph",
    )
    bond_angles: bool = Field(
        False,
        description="add a Keating bond-bending energy over the pairs of first-shell bonds at each atom "
        "(BondAngleEnergy); breaks the Cauchy relations of central springs; needs bond_shell; not in the paper",
    )
    volume_energy: bool = Field(
        False,
        description="add a learned per-atom stiffness times the squared volume change of the strain "
        "(VolumeStrainEnergy); gives the positive Cauchy pressure of metals; not in the paper",
    )
    atom_stiffness: bool = Field(
        False,
        description="add to U a positive semi-definite stiffness tensor per atom built from its bonds, "
        "eps : sum_k A_ik (x) A_ik : eps (AtomStiffnessEnergy); couples the bonds of an atom, so shear and the "
        "directions across a layer get their own stiffness; not in the paper",
    )
    atom_stiffness_channels: int = Field(8, gt=0, description="K, stiffness tensors A_ik per atom")

    @model_validator(mode="after")
    def _bond_options(self) -> StrainTensorNetConfig:
        if self.bond_shell is not None and not self.bond_energy:
            raise ValueError("bond_shell selects the bonds of the bond energy: set bond_energy: true with it.")
        if self.bond_angles and self.bond_shell is None:
            raise ValueError(
                "bond_angles pairs the first-shell bonds of each atom: set bond_shell (e.g. 1.15) with it."
            )
        return self


class TrialModelConfig(FrozenConfig):
    """Fig. 6 trial models: (a) graph only, (b) known DCV after pooling, (c) DCV in the node attributes."""

    architecture: Literal["fig6a", "fig6b", "fig6c"]
    encoder: EncoderConfig = EncoderConfig()
    head: HeadConfig = HeadConfig()


ModelConfig = Annotated[StrainTensorNetConfig | TrialModelConfig, Field(discriminator="architecture")]


GRAPH_SETTINGS: tuple[str, ...] = ("edge_strategy", "edge_cutoff", "edge_bridge_cutoff", "max_atomic_number")
"""Encoder settings that decide the graphs a network reads; the networks of one predictor must agree on them."""
