"""The per-crystal-system mean-tensor baseline that every trained model is compared against.

Fit: the mean stiffness C (GPa) over the training materials of each crystal system, each tensor taken in
its own structure's frame, exactly as the data are stored (no rotation to a common frame), and the mean
over all training materials. Predict: the mean of the test material's crystal system, or the global mean
for a system absent from training. The baseline knows only the crystal system of a material.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stn_plugin.evaluation.data import EvaluationData

if TYPE_CHECKING:
    from stn_plugin.data.records import ElasticRecord


@dataclass(frozen=True)
class MeanTensorBaseline:
    """Mean stiffness per crystal system.

    Attributes:
        system_means: crystal system -> mean C, shape (6, 6), GPa.
        global_mean: mean C over all training materials, shape (6, 6), GPa.
        counts: crystal system -> number of training materials.
    """

    system_means: dict[str, NDArray[np.float64]]
    global_mean: NDArray[np.float64]
    counts: dict[str, int]

    @classmethod
    def fit(cls, elastic_tensors: ArrayLike, crystal_systems: Sequence[str]) -> MeanTensorBaseline:
        """Fit on training materials.

        Args:
            elastic_tensors: C, shape (N, 6, 6), GPa, each in its structure's frame; N >= 1.
            crystal_systems: the N crystal systems.
        """
        C = np.asarray(elastic_tensors, dtype=float)
        if C.ndim != 3 or C.shape[1:] != (6, 6) or C.shape[0] == 0:
            raise ValueError(f"elastic_tensors must have shape (N, 6, 6) with N >= 1, got {C.shape}.")
        systems = np.asarray(crystal_systems)
        if systems.shape != (C.shape[0],):
            raise ValueError(f"got {C.shape[0]} tensors but {systems.size} crystal systems.")
        names = sorted(set(systems.tolist()))
        return cls(
            system_means={s: C[systems == s].mean(axis=0) for s in names},
            global_mean=C.mean(axis=0),
            counts={s: int((systems == s).sum()) for s in names},
        )

    def predict(self, crystal_systems: Sequence[str]) -> NDArray[np.float64]:
        """Predicted C, shape (N, 6, 6), GPa: the system's mean, or the global mean for an unseen system."""
        return np.stack([self.system_means.get(s, self.global_mean) for s in crystal_systems])


def mean_tensor_baseline_data(train: Sequence[ElasticRecord], test: Sequence[ElasticRecord]) -> EvaluationData:
    """Fit the baseline on ``train`` records and return its predictions for ``test`` as evaluation input."""
    baseline = MeanTensorBaseline.fit([r.elastic_tensor for r in train], [r.crystal_system for r in train])
    systems = [r.crystal_system for r in test]
    return EvaluationData.from_elastic(
        elastic_true=np.stack([r.elastic_tensor for r in test]),
        elastic_pred=baseline.predict(systems),
        volume_per_atom=[r.volume_per_atom for r in test],
        crystal_systems=systems,
        elements=[r.formula for r in test],
    )
