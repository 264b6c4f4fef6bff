"""Strained crystal multigraphs on matgl's ``GraphConverter`` (paper Sec. III A, Fig. 2).

:class:`StrainedGraphConverter` subclasses ``matgl.graph.converters.GraphConverter`` and builds the
base PyG ``Data`` through its ``get_graph_from_processed_structure`` (``edge_index``, ``pbc_offset``,
``node_type``, ``frac_coords``), then adds the fields of the graph contract in
``docs/architecture.md``. Edge convention: ``edge_index[0]`` is the neighbour j (source) and
``edge_index[1]`` the centre i (target); ``pbc_offset`` is the lattice image of the *source*, and
``edge_vec = (frac[src] + pbc_offset - frac[dst]) @ lattice``. (matgl's own
``compute_pair_vector_and_distance`` puts the image on ``edge_index[1]``; use the stored ``edge_vec``.)

Frame contract: all Cartesian quantities of a graph (``lattice``, ``edge_vec``) and the strain state
(i, j) refer to the *canonical* frame of the material: pymatgen's conventional standard cell
(:mod:`stn_plugin.structure.canonical`), whatever the orientation and cell of the structure passed in.
A ``sed`` target or prediction for pair (i, j) is the one of the strain (i, j) along the canonical
axes; ``PreparedMaterial.rotation`` takes the elastic tensor back to the user's frame
(:func:`stn_plugin.predictor.prediction.elastic_prediction`, training targets in
:func:`stn_plugin.training.data.material_graphs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matgl
import numpy as np
import torch
from matgl.graph.converters import GraphConverter
from numpy.typing import ArrayLike, NDArray
from pymatgen.core import Structure
from torch_geometric.data import Data

from stn_plugin.graph.cache import MaterialCache, cache_key
from stn_plugin.graph.edges import EdgeStrategy, get_edge_strategy
from stn_plugin.graph.features import atom_scalars
from stn_plugin.graph.material import PreparedMaterial, prepare_material
from stn_plugin.physics.symmetry import DEFAULT_ANGLE_TOLERANCE, DEFAULT_SYMPREC, analyze_symmetry
from stn_plugin.physics.voigt import DEFAULT_STRAIN, N_PAIRS, all_deformation_gradients, upper_triangle


class StrainedGraphConverter(GraphConverter):
    """Builds the 21 strained graphs of a crystal (one PyG ``Data`` per strain state).

    Args:
        element_types: element symbols indexing ``node_type`` (matgl convention).
        edges: edge strategy name ('cell_radius_sphere' (default), 'cell_radius', 'radius') or instance
            (``get_edge_strategy('radius', cutoff=6.0)``).
        magnitude: strain magnitude (dimensionless, engineering shear), 0.02 in the paper.
        symprec: spglib distance tolerance (Angstrom), for standardisation and the DCV.
        angle_tolerance: spglib angle tolerance (degrees).
        cache: per-material cache of prepared cells and edge lists; None disables caching.
        true_dcv: fill the ``dcv`` field of ``strained_graphs`` with the crystal's true DCV (spglib point
            group, about a quarter of the graph-building time); False leaves it NaN (unknown), for models
            that predict the DCV themselves (StrainTensorNet) or ignore it.
    """

    def __init__(
        self,
        element_types: tuple[str, ...] = matgl.config.DEFAULT_ELEMENTS,
        edges: str | EdgeStrategy = "cell_radius_sphere",
        magnitude: float = DEFAULT_STRAIN,
        symprec: float = DEFAULT_SYMPREC,
        angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
        cache: MaterialCache | None = None,
        true_dcv: bool = True,
    ) -> None:
        self.element_types = tuple(element_types)
        self.edges = get_edge_strategy(edges) if isinstance(edges, str) else edges
        self.magnitude = magnitude
        self.symprec = symprec
        self.angle_tolerance = angle_tolerance
        self.cache = cache
        self.true_dcv = true_dcv
        self._deformations = all_deformation_gradients(magnitude)

    def settings(self) -> dict[str, Any]:
        """Everything that determines a prepared material (part of its cache key)."""
        return {
            "edges": self.edges.settings(),
            "symprec": self.symprec,
            "angle_tolerance": self.angle_tolerance,
        }

    def prepare(self, structure: Structure) -> PreparedMaterial:
        """Standardised cell and edge list of an unstrained structure (from the cache when present)."""
        key = cache_key(structure, self.settings()) if self.cache is not None else ""
        material = self.cache.get(key) if self.cache is not None else None
        if material is None:
            material = prepare_material(structure, self.edges, self.symprec, self.angle_tolerance)
            if self.cache is not None:
                self.cache.put(key, material)
        return material

    def _shared_fields(self, material: PreparedMaterial) -> dict[str, Any]:
        """Graph fields common to all strain states: nodes, edges, unstrained volume per atom."""
        structure = material.structure()
        missing = sorted({s.symbol for s in structure.species} - set(self.element_types))
        if missing:
            raise ValueError(f"Elements {missing} are not in the converter's element_types.")
        edges = material.edges
        graph, _, _ = self.get_graph_from_processed_structure(
            structure,
            edges.src,
            edges.dst,
            edges.images,
            material.lattice[None],
            self.element_types,
            material.frac_coords,
        )
        fields = graph.to_dict()
        fields["edge_index"] = fields["edge_index"].long()  # matgl builds it as matgl.int_th (int32)
        fields["num_nodes"] = material.num_atoms
        fields["atomic_numbers"] = torch.as_tensor(material.atomic_numbers, dtype=torch.long)
        fields["atom_scalars"] = torch.as_tensor(atom_scalars(material.atomic_numbers), dtype=torch.float32)
        fields["volume_per_atom"] = torch.tensor([material.volume_per_atom], dtype=matgl.float_th)
        return fields

    def get_graph(self, structure: Structure) -> tuple[Data, torch.Tensor, NDArray[np.float32]]:
        """matgl's interface: the UNSTRAINED graph (no strain fields), its lattice (1, 3, 3) and state attrs."""
        material = self.prepare(structure)
        lattice = torch.as_tensor(material.lattice[None], dtype=matgl.float_th)
        graph = Data(
            **self._shared_fields(material),
            lattice=lattice,
            edge_vec=torch.as_tensor(material.edge_vectors(), dtype=torch.float32),
        )
        return graph, lattice, np.zeros(2, dtype=matgl.float_np)

    def strained_graphs(
        self,
        structure: Structure | PreparedMaterial,
        sed: ArrayLike | None = None,
        dcv: ArrayLike | None = None,
        pairs: Sequence[int] | None = None,
    ) -> list[Data]:
        """The strained graphs of one material, sharing ``edge_index``, ``pbc_offset`` and node tensors.

        Args:
            structure: unstrained structure (any frame) or a material from ``prepare``.
            sed: optional 6x6 strain-energy-density matrix U (meV/atom) in the canonical frame; graph k gets
                ``U[i, j]`` of its pair, NaN when None.
            dcv: optional (21, 21) degeneracy class vectors; by default from
                ``stn_plugin.physics.symmetry.analyze_symmetry`` of the canonical cell
                (NaN when the converter has ``true_dcv=False``).
            pairs: pair indices (``VOIGT_PAIRS`` order) to build; all 21 by default.

        Returns:
            One ``Data`` per pair with the fields of the graph contract (``docs/architecture.md``).
        """
        material = structure if isinstance(structure, PreparedMaterial) else self.prepare(structure)
        shared = self._shared_fields(material)
        if dcv is None and self.true_dcv:
            symmetry = analyze_symmetry(material.structure(), self.symprec, self.angle_tolerance, self.magnitude)
            dcv = symmetry.dcv
        dcv_np = np.full((N_PAIRS, N_PAIRS), np.nan) if dcv is None else np.asarray(dcv)
        targets = np.full(N_PAIRS, np.nan) if sed is None else upper_triangle(np.asarray(sed))
        selected = np.arange(N_PAIRS) if pairs is None else np.asarray(pairs, dtype=np.int64)
        # All strain states at once from the one edge list: v_k = F_k v (float64, then float32 as before).
        F = self._deformations[selected]
        vectors = torch.as_tensor(np.einsum("kab,eb->kea", F, material.edge_vectors()), dtype=torch.float32)
        lattices = torch.as_tensor(np.einsum("ab,kcb->kac", material.lattice, F), dtype=matgl.float_th)
        onehots = torch.eye(N_PAIRS, dtype=torch.float32)[selected]
        dcvs = torch.as_tensor(dcv_np[selected], dtype=torch.float32)
        seds = torch.as_tensor(targets[selected], dtype=torch.float32)
        pair_ids = torch.as_tensor(selected)
        return [
            Data(
                **shared,
                lattice=lattices[n : n + 1],
                edge_vec=vectors[n].clone(),  # own storage: a saved or pickled graph holds only its edges
                strain_onehot=onehots[n : n + 1],
                strain_pair=pair_ids[n : n + 1],
                dcv=dcvs[n : n + 1],
                sed=seds[n : n + 1],
            )
            for n in range(len(selected))
        ]
