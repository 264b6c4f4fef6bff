"""Node features of StrainTensorNet (paper Sec. III B): atomic number plus four element scalars.

The four raw scalars, in the order of ``ATOM_SCALAR_NAMES``:

* atomic mass (amu), pymatgen ``Element.atomic_mass``;
* Pauling electronegativity (dimensionless), pymatgen ``Element.X``;
* static dipole polarizability (atomic units, bohr^3), ``elemental_polarizability.csv`` next to this
  module (Schwerdtfeger & Nagle table, the paper's Ref. 47; provenance in the file header);
* atomic radius (Angstrom), pymatgen ``Element.atomic_radius`` (empirical), falling back to
  ``Element.atomic_radius_calculated`` as in the authors' code.

Elements without a value (pymatgen has no Pauling electronegativity for He, Ne, Ar and no radius
for At, Fr) raise :class:`ElementDataError`, which names the element and the property. Graphs carry
the raw scalars; the model standardises them with an :class:`AtomScalarStandardizer` fitted on the
training structures and stored in its state dict.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

import numpy as np
import torch
from numpy.typing import NDArray
from pymatgen.core import Element, Structure

ATOM_SCALAR_NAMES: tuple[str, ...] = (
    "atomic_mass_amu",
    "pauling_electronegativity",
    "dipole_polarizability_au",
    "atomic_radius_angstrom",
)
"""Names (with units) of the columns of ``atom_scalars``."""

MAX_Z: int = 94
"""Largest supported atomic number (Pu), as in the paper's embedding table."""


class ElementDataError(ValueError):
    """An element lacks a node-feature property; the message names the element and the property."""


@cache
def _polarizabilities() -> dict[int, float]:
    """Static dipole polarizabilities (a.u.) by atomic number from the bundled CSV."""
    text = files("stn_plugin.graph").joinpath("elemental_polarizability.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {int(row["Z"]): float(row["alpha_au"]) for row in rows}


def _missing(symbol: str, prop: str) -> ElementDataError:
    return ElementDataError(f"No {prop} for element {symbol}: StrainTensorNet node features need it.")


@cache
def element_scalars(z: int) -> tuple[float, float, float, float]:
    """Raw node scalars of element Z: (mass amu, Pauling X, polarizability a.u., radius Angstrom).

    Raises:
        ElementDataError: if Z is outside 1..94 or a property is unavailable for the element.
    """
    if not 1 <= z <= MAX_Z:
        raise ElementDataError(f"Atomic number {z} is outside the supported range 1..{MAX_Z} (H..Pu).")
    element = Element.from_Z(z)
    symbol = element.symbol
    with warnings.catch_warnings():  # pymatgen warns (and returns NaN/None) for missing data
        warnings.simplefilter("ignore")
        electronegativity = element.X
        radius = element.atomic_radius
        if radius is None:
            radius = element.atomic_radius_calculated
    if electronegativity is None or np.isnan(electronegativity):
        raise _missing(symbol, "Pauling electronegativity (pymatgen Element.X)")
    if radius is None:
        raise _missing(symbol, "atomic radius (pymatgen atomic_radius or atomic_radius_calculated)")
    polarizability = _polarizabilities().get(z)
    if polarizability is None:
        raise _missing(symbol, "static dipole polarizability (elemental_polarizability.csv)")
    return float(element.atomic_mass), float(electronegativity), polarizability, float(radius)


def atom_scalars(atomic_numbers: Iterable[int]) -> NDArray[np.float64]:
    """Raw node scalars of a list of atoms, shape (N, 4), columns as in ``ATOM_SCALAR_NAMES``."""
    rows = [element_scalars(int(z)) for z in atomic_numbers]
    return np.asarray(rows, dtype=float).reshape(-1, len(ATOM_SCALAR_NAMES))


class AtomScalarStandardizer(torch.nn.Module):
    """Per-column standardisation (x - mean) / std of the (N, 4) raw atom scalars.

    The statistics are buffers, so a model that holds the standardiser stores them in its state dict;
    ``to_dict`` / ``from_dict`` give a plain-list form for configs and JSON.

    Args:
        mean: shape (4,), column means in the units of ``ATOM_SCALAR_NAMES``.
        std: shape (4,), column standard deviations (> 0).
    """

    def __init__(self, mean: torch.Tensor | list[float], std: torch.Tensor | list[float]) -> None:
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.as_tensor(std, dtype=torch.float32)
        n = len(ATOM_SCALAR_NAMES)
        if mean_t.shape != (n,) or std_t.shape != (n,):
            raise ValueError(f"mean and std must have shape ({n},), got {tuple(mean_t.shape)}, {tuple(std_t.shape)}.")
        if not bool((std_t > 0).all()):
            raise ValueError(f"std must be positive, got {std_t.tolist()}.")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    @classmethod
    def fit(cls, structures: Iterable[Structure]) -> AtomScalarStandardizer:
        """Fit mean and std over all atoms (sites) of the training structures.

        Every atom counts once, so a material weighs in proportion to its number of sites. A column
        with zero spread (e.g. a single-element training set) gets std 1.
        """
        x = np.concatenate([atom_scalars(s.atomic_numbers) for s in structures], axis=0)
        if len(x) == 0:
            raise ValueError("Cannot fit an AtomScalarStandardizer on zero atoms.")
        std = x.std(axis=0)
        return cls(torch.from_numpy(x.mean(axis=0)), torch.from_numpy(np.where(std > 0, std, 1.0)))

    def forward(self, atom_scalars: torch.Tensor) -> torch.Tensor:
        """Standardise raw scalars of shape (N, 4); returns shape (N, 4)."""
        return (atom_scalars - self.mean) / self.std

    def to_dict(self) -> dict[str, list]:
        """Plain form ``{'names': ..., 'mean': [...], 'std': [...]}``."""
        return {"names": list(ATOM_SCALAR_NAMES), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> AtomScalarStandardizer:
        """Inverse of ``to_dict``; checks the column names when present."""
        names = data.get("names")
        if names is not None and tuple(names) != ATOM_SCALAR_NAMES:
            raise ValueError(f"Standardiser columns {names} differ from {list(ATOM_SCALAR_NAMES)}.")
        return cls(data["mean"], data["std"])
