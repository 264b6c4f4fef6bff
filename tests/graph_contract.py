"""Small graphs that follow the graph contract for the model tests, built without the production converter.

Kept apart from :mod:`stn_plugin.graph` on purpose: the model tests get contract graphs of random cells (no
standardisation, no symmetry analysis, stand-in features) quickly, and a converter bug cannot hide a model bug.

Edges: pymatgen neighbour list within ``cutoff`` on the UNSTRAINED cell, vectors from the strained
lattice (as the contract says). Atom scalars: mass, electronegativity and atomic radius from
pymatgen and a stand-in polarizability (``Z``), so their magnitudes are realistic.
"""

from __future__ import annotations

import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Data

from stn_plugin.physics.voigt import DEFAULT_STRAIN, N_PAIRS, VOIGT_PAIRS, deformation_gradient, strained_lattice


def atom_scalars(structure: Structure) -> np.ndarray:
    """(N, 4) [mass amu, Pauling X, stand-in polarizability (= Z), atomic radius Angstrom]."""
    rows = []
    for site in structure:
        el = site.specie
        rows.append([float(el.atomic_mass), float(el.X), float(el.Z), float(el.atomic_radius or 1.5)])
    return np.asarray(rows)


def contract_graph(
    structure: Structure,
    pair: int,
    cutoff: float = 5.0,
    magnitude: float = DEFAULT_STRAIN,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Data:
    """Graph of ``structure`` strained by ``VOIGT_PAIRS[pair]`` (contract fields, ``sed`` NaN).

    Args:
        structure: unstrained crystal.
        pair: index into ``VOIGT_PAIRS``.
        cutoff: radius of the edges (Angstrom), used when ``edges`` is None.
        magnitude: strain magnitude.
        edges: precomputed (src, dst, images) of the unstrained cell, e.g. from an edge strategy.
    """
    if edges is None:
        centre, neighbour, images, _ = structure.get_neighbor_list(cutoff)
        keep = ~((centre == neighbour) & np.all(images == 0, axis=1))
        neighbour, centre, images = neighbour[keep], centre[keep], images[keep]
    else:
        neighbour, centre, images = edges
    lattice = strained_lattice(structure.lattice, deformation_gradient(*VOIGT_PAIRS[pair], magnitude)).matrix
    frac = structure.frac_coords
    edge_vec = (frac[neighbour] + images - frac[centre]) @ lattice
    onehot = torch.zeros(1, N_PAIRS)
    onehot[0, pair] = 1.0
    return Data(
        num_nodes=len(structure),
        atomic_numbers=torch.tensor([s.specie.Z for s in structure], dtype=torch.long),
        node_type=torch.tensor([s.specie.Z - 1 for s in structure], dtype=torch.long),
        atom_scalars=torch.tensor(atom_scalars(structure), dtype=torch.float32),
        edge_index=torch.tensor(np.stack([neighbour, centre]), dtype=torch.long),
        pbc_offset=torch.tensor(images, dtype=torch.float32),
        frac_coords=torch.tensor(frac, dtype=torch.float32),
        lattice=torch.tensor(lattice, dtype=torch.float32).unsqueeze(0),
        edge_vec=torch.tensor(edge_vec, dtype=torch.float32),
        strain_onehot=onehot,
        strain_pair=torch.tensor([pair]),
        dcv=onehot.clone(),
        sed=torch.tensor([float("nan")]),
        volume_per_atom=torch.tensor([structure.volume / len(structure)], dtype=torch.float32),
    )


def random_structure(
    num_atoms: int, rng: np.random.Generator, species: tuple[str, ...] = ("Na", "Cl", "Mg", "O")
) -> Structure:
    """A random crystal of ``num_atoms`` atoms (about 14 Angstrom^3 per atom, no two atoms closer than ~1 A)."""
    a = (14.0 * num_atoms) ** (1 / 3)
    lattice = Lattice(np.diag([a, a, a]) + rng.uniform(-0.15, 0.15, (3, 3)) * a)
    coords: list[np.ndarray] = []
    while len(coords) < num_atoms:
        f = rng.uniform(size=3)
        if all(lattice.get_distance_and_image(f, g)[0] > 1.0 for g in coords):
            coords.append(f)
    return Structure(lattice, [species[k % len(species)] for k in rng.permutation(num_atoms)], coords)
