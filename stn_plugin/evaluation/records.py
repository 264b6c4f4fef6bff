"""Evaluate a model on dataset records: tensor records per source, moduli-only records, anisotropy.

:func:`evaluate_records` predicts every record through the model's frame-exact batched predictor
(``predict_structures``: any orientation and cell, results in the frame of each record's structure) and
scores them:

* **tensor records**: Table II (:func:`~stn_plugin.evaluation.metrics.evaluate`) over all of them and per
  data source (``ElasticRecord.source``);
* **moduli-only records** (K_VRH, G_VRH only): MAE of K_VRH and G_VRH per source (VRH of the predicted C);
* **anisotropy** of the tensor records: for uniaxial crystals (tetragonal, trigonal, hexagonal) the MAE of
  log10(C33/C11) with C in the canonical frame (unique axis along z), and for all the MAE and median absolute
  error of the universal anisotropy index A_U = 5 G_V/G_R + K_V/K_R - 6 (Ranganathan and Ostoja-Starzewski
  2008); a model that washes anisotropy out predicts log10(C33/C11) = 0 and A_U = 0. With them the error of the
  softest shear mode and the fraction of DFT-stable crystals predicted unstable (not positive definite).

Keys are stable: ``<source>/cij_mae_gpa``, ``<source>/bulk_vrh_mae_gpa``, ``log_c33_c11_mae``,
``universal_anisotropy_mae``, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from stn_plugin.evaluation.data import EvaluationData
from stn_plugin.evaluation.metrics import EvaluationMetrics, evaluate
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.moduli import elastic_moduli, kelvin_moduli
from stn_plugin.physics.stability import born_stability
from stn_plugin.predictor.prediction import ElasticPrediction

if TYPE_CHECKING:
    from stn_plugin.data.records import ElasticRecord
    from stn_plugin.predictor import ElasticPredictor

UNIAXIAL_SYSTEMS: tuple[str, ...] = ("tetragonal", "trigonal", "hexagonal")
"""Crystal systems with one unique axis (c, along z in the canonical frame)."""


@dataclass(frozen=True)
class RecordPrediction:
    """One record and its prediction (None with the error message when it could not be predicted)."""

    record: ElasticRecord
    prediction: ElasticPrediction | None
    error: str | None = None


def predict_records(
    model: ElasticPredictor,
    records: Sequence[ElasticRecord],
    symmetrize: bool = True,
    progress: bool = True,
    threads: int | None = 1,
) -> list[RecordPrediction]:
    """Predict every record's structure in one batched ``model.predict_structures(..., errors="skip")`` call
    (torch ``threads``); a structure the model refuses gets its typed error, the others their predictions."""
    with tqdm(total=len(records), desc="Predicting", disable=not progress) as bar:
        results = model.predict_structures(
            [r.structure for r in records],
            symmetrize=symmetrize,
            errors="skip",
            progress=lambda finished: bar.update(finished - bar.n),
            threads=threads,
        )
    return [
        RecordPrediction(r, p)
        if isinstance(p, ElasticPrediction)
        else RecordPrediction(r, None, f"{type(p).__name__}: {p}")
        for r, p in zip(records, results, strict=True)
    ]


def universal_anisotropy_errors(
    records: Sequence[ElasticRecord], elastic_tensors: Sequence[ArrayLike | None]
) -> NDArray[np.float64]:
    """|A_U(predicted) - A_U(DFT)| per record, (N,); NaN where either is not finite or a prediction is None.

    Args:
        records: tensor records.
        elastic_tensors: the predicted Voigt C of each record, (6, 6) GPa, in the frame of its structure, or None.
    """
    errors = np.full(len(records), np.nan)
    for k, (record, predicted) in enumerate(zip(records, elastic_tensors, strict=True)):
        if predicted is not None:
            au_true = elastic_moduli(record.elastic_tensor).universal_anisotropy
            errors[k] = abs(elastic_moduli(np.asarray(predicted, dtype=float)).universal_anisotropy - au_true)
    return errors


def anisotropy_metrics(
    records: Sequence[ElasticRecord], elastic_tensors: Sequence[ArrayLike], canonical_rotations: Sequence[ArrayLike]
) -> dict[str, float]:
    """``log_c33_c11_mae`` (uniaxial crystals, canonical frame), ``universal_anisotropy_mae`` and ``_median_ae``
    (all crystals with a finite A_U in truth and prediction, :func:`universal_anisotropy_errors`) and their counts
    ``n_uniaxial``, ``n_anisotropy``; ``softest_shear_mae_gpa``, the MAE of half the smallest Kelvin modulus
    (:func:`~stn_plugin.physics.moduli.kelvin_moduli`: the shear stiffness of the softest deformation mode, in any
    frame), and ``unstable_fraction``, the fraction of the crystals with a Born-stable DFT tensor whose predicted
    tensor is not positive definite, over ``n_stable``.

    Args:
        records: tensor records.
        elastic_tensors: the predicted Voigt C of each record, (6, 6) GPa, in the frame of its structure.
        canonical_rotations: (3, 3) R of each record's canonical frame (``ElasticPrediction.canonical_rotation``:
            ``r_structure = R @ r_canonical``), found once by the prediction.
    """
    log_errors = []
    for record, predicted, rotation in zip(records, elastic_tensors, canonical_rotations, strict=True):
        if record.crystal_system in UNIAXIAL_SYSTEMS:
            R = np.asarray(rotation, dtype=float)
            true, pred = (rotate_elastic_tensor(C, R.T) for C in (record.elastic_tensor, predicted))
            if min(true[0, 0], true[2, 2], pred[0, 0], pred[2, 2]) > 0:
                log_errors.append(abs(np.log10(pred[2, 2] / pred[0, 0]) - np.log10(true[2, 2] / true[0, 0])))
    au_errors = universal_anisotropy_errors(records, elastic_tensors)
    au_errors = au_errors[np.isfinite(au_errors)]
    true = np.array([r.elastic_tensor for r in records], dtype=float).reshape(-1, 6, 6)
    predicted = np.array(elastic_tensors, dtype=float).reshape(-1, 6, 6)
    softest_errors = 0.5 * np.abs(kelvin_moduli(predicted)[:, 0] - kelvin_moduli(true)[:, 0])
    stable = [born_stability(C).stable for C in true]
    unstable = [not born_stability(C).stable for C, ok in zip(predicted, stable, strict=True) if ok]
    nan = float("nan")
    return {
        "softest_shear_mae_gpa": float(np.mean(softest_errors)) if len(softest_errors) else nan,
        "unstable_fraction": float(np.mean(unstable)) if unstable else nan,
        "n_stable": float(len(unstable)),
        "log_c33_c11_mae": float(np.mean(log_errors)) if log_errors else nan,
        "n_uniaxial": float(len(log_errors)),
        "universal_anisotropy_mae": float(np.mean(au_errors)) if len(au_errors) else nan,
        "universal_anisotropy_median_ae": float(np.median(au_errors)) if len(au_errors) else nan,
        "n_anisotropy": float(len(au_errors)),
    }


def moduli_metrics(records: Sequence[ElasticRecord], predictions: Sequence[ElasticPrediction]) -> dict[str, float]:
    """MAE of K_VRH and G_VRH (GPa) against the records' ``k_vrh`` / ``g_vrh``, and the count ``n_materials``."""
    pred = np.array([[p.moduli["bulk_vrh"], p.moduli["shear_vrh"]] for p in predictions], dtype=float)
    true = np.array([[r.k_vrh, r.g_vrh] for r in records], dtype=float)
    finite = np.all(np.isfinite(pred), axis=1)
    errors = np.abs(pred[finite] - true[finite])
    return {
        "bulk_vrh_mae_gpa": float(errors[:, 0].mean()) if len(errors) else float("nan"),
        "shear_vrh_mae_gpa": float(errors[:, 1].mean()) if len(errors) else float("nan"),
        "n_materials": float(len(errors)),
    }


SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("cij_mae_gpa", "C_ij MAE, all tensor crystals (GPa)"),
    ("bulk_voigt_mae_gpa", "B_V MAE (GPa)"),
    ("shear_voigt_mae_gpa", "G_V MAE (GPa)"),
    ("dejong2015/cij_mae_gpa", "de Jong 2015: C_ij MAE"),
    ("dejong2015/bulk_voigt_mae_gpa", "de Jong 2015: B_V MAE"),
    ("dejong2015/shear_voigt_mae_gpa", "de Jong 2015: G_V MAE"),
    ("mp2023_elatbot/cij_mae_gpa", "MP 2023 (ElaTBot): C_ij MAE"),
    ("mp2023_elatbot/bulk_voigt_mae_gpa", "MP 2023 (ElaTBot): B_V MAE"),
    ("mp2023_elatbot/shear_voigt_mae_gpa", "MP 2023 (ElaTBot): G_V MAE"),
    ("mp2025_binary/bulk_vrh_mae_gpa", "MP 2025 binaries: K_VRH MAE"),
    ("mp2025_binary/shear_vrh_mae_gpa", "MP 2025 binaries: G_VRH MAE"),
    ("mp2026/cij_mae_gpa", "MP 2026: C_ij MAE"),
    ("mp2026/bulk_voigt_mae_gpa", "MP 2026: B_V MAE"),
    ("mp2026/shear_voigt_mae_gpa", "MP 2026: G_V MAE"),
    ("log_c33_c11_mae", "uniaxial crystals: MAE of log10(C33/C11)"),
    ("universal_anisotropy_mae", "universal anisotropy index A_U: MAE"),
    ("universal_anisotropy_median_ae", "A_U: median absolute error"),
    ("softest_shear_mae_gpa", "softest shear mode (half the smallest Kelvin modulus): MAE (GPa)"),
    ("unstable_fraction", "DFT-stable crystals predicted not positive definite (fraction)"),
)
"""Keys of :meth:`RecordsEvaluation.flat` and their labels: the summary of a model on one part of the split."""


@dataclass
class RecordsEvaluation:
    """The scores of :func:`evaluate_records`.

    Attributes:
        tensor: Table II etc. over all tensor records (None without any).
        tensor_data: the truth and predictions behind ``tensor`` (for reports and plots).
        tensor_by_source: the same per source.
        moduli_by_source: K_VRH / G_VRH MAE per source over every record (tensor records included: VRH of
            their DFT tensor); keys of :func:`moduli_metrics`.
        anisotropy: :func:`anisotropy_metrics` over the tensor records.
        predictions: every record with its prediction or error, input order.
    """

    tensor: EvaluationMetrics | None
    tensor_data: EvaluationData | None
    tensor_by_source: dict[str, EvaluationMetrics]
    moduli_by_source: dict[str, dict[str, float]]
    anisotropy: dict[str, float]
    predictions: list[RecordPrediction] = field(repr=False)

    @property
    def failures(self) -> list[RecordPrediction]:
        return [p for p in self.predictions if p.prediction is None]

    def flat(self) -> dict[str, float]:
        """Scalar metrics with stable keys: the tensor metrics, ``<source>/<key>`` per source, anisotropy."""
        out = dict(self.tensor.flat()) if self.tensor is not None else {}
        for source, metrics in self.tensor_by_source.items():
            out.update({f"{source}/{key}": value for key, value in metrics.overall.model_dump().items()})
        for source, metrics in self.moduli_by_source.items():
            out.update({f"{source}/{key}": value for key, value in metrics.items()})
        out.update(self.anisotropy)
        return {key: float(value) for key, value in out.items() if value is not None}


def _sources(items: Sequence[RecordPrediction]) -> list[str]:
    return sorted({item.record.source for item in items})


def score_predictions(items: Sequence[RecordPrediction]) -> RecordsEvaluation:
    """Score records against their predictions (module docstring): the one scoring of the package, used by
    ``stn models evaluate``, the training's validation and end-of-run reports and the shipping script. Items
    without a prediction are listed in ``failures`` and left out of every metric."""
    predicted = [p for p in items if p.prediction is not None]
    tensors = [p for p in predicted if p.record.has_tensor]

    def data(items: Sequence[RecordPrediction]) -> EvaluationData:
        return EvaluationData.from_predictions([i.record for i in items], [i.prediction for i in items])

    def of(items: Sequence[RecordPrediction], source: str) -> list[RecordPrediction]:
        return [i for i in items if i.record.source == source]

    tensor_data = data(tensors) if tensors else None
    return RecordsEvaluation(
        tensor=None if tensor_data is None else evaluate(tensor_data),
        tensor_data=tensor_data,
        tensor_by_source={source: evaluate(data(of(tensors, source))) for source in _sources(tensors)},
        moduli_by_source={
            source: moduli_metrics(
                [i.record for i in of(predicted, source)], [i.prediction for i in of(predicted, source)]
            )
            for source in _sources(predicted)
        },
        anisotropy=anisotropy_metrics(
            [i.record for i in tensors],
            [i.prediction.elastic_tensor.voigt for i in tensors],
            [i.prediction.canonical_rotation for i in tensors],
        )
        if tensors
        else {},
        predictions=list(items),
    )


def evaluate_records(
    model: ElasticPredictor,
    records: Sequence[ElasticRecord],
    symmetrize: bool = True,
    progress: bool = True,
    threads: int | None = 1,
) -> RecordsEvaluation:
    """Predict and score ``records`` (:func:`predict_records`, :func:`score_predictions`)."""
    return score_predictions(predict_records(model, records, symmetrize, progress=progress, threads=threads))
