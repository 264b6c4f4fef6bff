"""The model-independent input of every evaluation: true and predicted tensors of a set of materials.

An :class:`EvaluationData` holds plain numpy arrays, so any predictor (StrainTensorNet, a trial model
of Fig. 6, the mean-tensor baseline of :mod:`stn_plugin.evaluation.baselines`) is evaluated the same way.
All tensors are 6x6 Voigt matrices (order xx, yy, zz, yz, xz, xy) in the Cartesian frame of each
material's structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pymatgen.core import Composition

from stn_plugin.data.records import CRYSTAL_SYSTEMS
from stn_plugin.physics.sed import elastic_to_sed
from stn_plugin.physics.voigt import DEFAULT_STRAIN, N_PAIRS

if TYPE_CHECKING:
    from stn_plugin.data.records import ElasticRecord
    from stn_plugin.predictor.prediction import ElasticPrediction


def crystal_system_key(system: str) -> tuple[int, str]:
    """Sort key ordering crystal systems from highest to lowest symmetry (``CRYSTAL_SYSTEMS``), unknown names last."""
    return (CRYSTAL_SYSTEMS.index(system) if system in CRYSTAL_SYSTEMS else len(CRYSTAL_SYSTEMS), system)


def _elements(entry: str | Sequence[str]) -> tuple[str, ...]:
    """Sorted element symbols of a formula (``'Al2O3'``) or of an explicit list (``['Al', 'O']``)."""
    if isinstance(entry, str):
        return tuple(sorted(str(el) for el in Composition(entry).elements))
    return tuple(sorted(set(entry)))


def _tensors(value: ArrayLike, name: str, n: int | None) -> NDArray[np.float64]:
    a = np.asarray(value, dtype=float)
    if a.ndim != 3 or a.shape[1:] != (6, 6):
        raise ValueError(f"{name} must have shape (N, 6, 6), got {a.shape}.")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} materials, expected {n}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf.")
    return a


@dataclass(frozen=True)
class EvaluationData:
    """True and predicted tensors of N materials, with their crystal systems and elements.

    Attributes:
        sed_true, sed_pred: U, shape (N, 6, 6), meV/atom, symmetric.
        elastic_true, elastic_pred: C, shape (N, 6, 6), GPa, symmetric.
        crystal_systems: N crystal-system names ('cubic', 'hexagonal', ...).
        elements: N sorted tuples of element symbols. The constructor also accepts a formula string
            (parsed with pymatgen ``Composition``) or any sequence of symbols per material.
        dcv_prob: predicted degeneracy-class probabilities, shape (N, 21, 21) (row k = strain
            ``VOIGT_PAIRS[k]``), or None when the predictor has no classifier.
        dcv_true: true DCV matrices, shape (N, 21, 21), 0/1, or None; given exactly when ``dcv_prob`` is.
    """

    sed_true: NDArray[np.float64]
    sed_pred: NDArray[np.float64]
    elastic_true: NDArray[np.float64]
    elastic_pred: NDArray[np.float64]
    crystal_systems: tuple[str, ...]
    elements: tuple[tuple[str, ...], ...]
    dcv_prob: NDArray[np.float64] | None = None
    dcv_true: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        n = len(self.crystal_systems)
        if n == 0:
            raise ValueError("EvaluationData needs at least one material.")
        set_ = object.__setattr__
        for name in ("sed_true", "sed_pred", "elastic_true", "elastic_pred"):
            set_(self, name, _tensors(getattr(self, name), name, n))
        set_(self, "crystal_systems", tuple(str(s) for s in self.crystal_systems))
        set_(self, "elements", tuple(_elements(e) for e in self.elements))
        if len(self.elements) != n:
            raise ValueError(f"elements has {len(self.elements)} entries, expected {n}.")
        if (self.dcv_prob is None) != (self.dcv_true is None):
            raise ValueError("dcv_prob and dcv_true must be given together.")
        for name in ("dcv_prob", "dcv_true"):
            value = getattr(self, name)
            if value is not None:
                a = np.asarray(value, dtype=float)
                if a.shape != (n, N_PAIRS, N_PAIRS):
                    raise ValueError(f"{name} must have shape ({n}, {N_PAIRS}, {N_PAIRS}), got {a.shape}.")
                set_(self, name, a)

    @property
    def n_materials(self) -> int:
        """Number of materials N."""
        return len(self.crystal_systems)

    @classmethod
    def from_elastic(
        cls,
        elastic_true: ArrayLike,
        elastic_pred: ArrayLike,
        volume_per_atom: ArrayLike,
        crystal_systems: Sequence[str],
        elements: Sequence[str | Sequence[str]],
        magnitude: float = DEFAULT_STRAIN,
    ) -> EvaluationData:
        """Build the data from stiffnesses alone; U follows from Eq. 2 with each material's true V/N.

        Args:
            elastic_true, elastic_pred: C, shape (N, 6, 6), GPa.
            volume_per_atom: V/N of each material, shape (N,), Angstrom^3/atom.
            crystal_systems: N crystal-system names.
            elements: N formulas or element-symbol sequences.
            magnitude: strain magnitude defining U (dimensionless).
        """
        c_true = _tensors(elastic_true, "elastic_true", None)
        c_pred = _tensors(elastic_pred, "elastic_pred", c_true.shape[0])
        volumes = np.asarray(volume_per_atom, dtype=float)
        return cls(
            sed_true=elastic_to_sed(c_true, volumes, magnitude),
            sed_pred=elastic_to_sed(c_pred, volumes, magnitude),
            elastic_true=c_true,
            elastic_pred=c_pred,
            crystal_systems=tuple(crystal_systems),
            elements=tuple(elements),  # type: ignore[arg-type]  # normalised in __post_init__
        )

    @classmethod
    def from_predictions(
        cls, records: Sequence[ElasticRecord], predictions: Sequence[ElasticPrediction]
    ) -> EvaluationData:
        """Truth of ``records`` against their model predictions (same order).

        U_true follows from each record's C with the prediction's strain magnitude; the true DCV is that of the
        canonical cell's point group (``ElasticPrediction.point_group``, found once by the prediction), the frame
        of the predicted DCV. DCV probabilities are included when every prediction has them.
        """
        from stn_plugin.physics.symmetry import class_vectors, value_classes

        with_dcv = all(p.dcv is not None for p in predictions)
        return cls(
            sed_true=np.stack([r.sed(p.strain) for r, p in zip(records, predictions, strict=True)]),
            sed_pred=np.stack([p.sed for p in predictions]),
            elastic_true=np.stack([r.elastic_tensor for r in records]),
            elastic_pred=np.stack([np.asarray(p.elastic_tensor.voigt) for p in predictions]),
            crystal_systems=[r.crystal_system for r in records],
            elements=[r.formula for r in records],
            dcv_prob=np.stack([p.dcv for p in predictions]) if with_dcv else None,
            dcv_true=np.stack([class_vectors(value_classes(p.point_group)) for p in predictions]) if with_dcv else None,
        )

    def subset(self, mask: NDArray[np.bool_]) -> EvaluationData:
        """The materials where the boolean ``mask`` (shape (N,)) is True."""
        idx = np.flatnonzero(mask)
        return EvaluationData(
            sed_true=self.sed_true[idx],
            sed_pred=self.sed_pred[idx],
            elastic_true=self.elastic_true[idx],
            elastic_pred=self.elastic_pred[idx],
            crystal_systems=tuple(self.crystal_systems[i] for i in idx),
            elements=tuple(self.elements[i] for i in idx),
            dcv_prob=None if self.dcv_prob is None else self.dcv_prob[idx],
            dcv_true=None if self.dcv_true is None else self.dcv_true[idx],
        )
