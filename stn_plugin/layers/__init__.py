"""Equivariant building blocks (e3nn ``o3`` + PyG): radial basis, edge tensor products, attention,
TFN convolution, norm nonlinearity."""

from stn_plugin.layers.convolution import EquivariantAttention, TFNConvolution, radial_mlp
from stn_plugin.layers.irreps import SymmetryGroup, hidden_irreps, sh_irreps
from stn_plugin.layers.nonlinearity import NormNonlinearity
from stn_plugin.layers.radial import BesselBasis
from stn_plugin.layers.tensor_product import EdgeTensorProduct, TensorProductKind

__all__ = [
    "BesselBasis",
    "EdgeTensorProduct",
    "EquivariantAttention",
    "NormNonlinearity",
    "SymmetryGroup",
    "TFNConvolution",
    "TensorProductKind",
    "hidden_irreps",
    "radial_mlp",
    "sh_irreps",
]
