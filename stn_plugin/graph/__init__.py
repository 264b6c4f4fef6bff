"""Strained crystal multigraphs: edge strategies, node features, checks of the graphs, converter, cache."""

from __future__ import annotations

from stn_plugin.graph.cache import DEFAULT_CACHE_DIR, MaterialCache, cache_key
from stn_plugin.graph.converter import StrainedGraphConverter
from stn_plugin.graph.edges import (
    EDGE_STRATEGIES,
    CellRadiusEdges,
    CellRadiusSphereEdges,
    EdgeList,
    EdgeStrategy,
    RadiusEdges,
    get_edge_strategy,
    periodic_dimensions,
)
from stn_plugin.graph.features import (
    ATOM_SCALAR_NAMES,
    AtomScalarStandardizer,
    ElementDataError,
    atom_scalars,
    element_scalars,
)
from stn_plugin.graph.material import PreparedMaterial, prepare_material

__all__ = [
    "ATOM_SCALAR_NAMES",
    "DEFAULT_CACHE_DIR",
    "EDGE_STRATEGIES",
    "AtomScalarStandardizer",
    "CellRadiusEdges",
    "CellRadiusSphereEdges",
    "EdgeList",
    "EdgeStrategy",
    "ElementDataError",
    "MaterialCache",
    "PreparedMaterial",
    "RadiusEdges",
    "StrainedGraphConverter",
    "atom_scalars",
    "cache_key",
    "element_scalars",
    "get_edge_strategy",
    "periodic_dimensions",
    "prepare_material",
]
