"""Metrics of several trained models and of their ensembles (mean U, hence mean C) on one JSON-lines split.

Tensor records give the Table II MAEs and the anisotropy errors (the MAE of log10(C33/C11) of the uniaxial
crystals and the mean and median absolute error of the universal anisotropy index A_U,
:func:`stn_plugin.evaluation.records.anisotropy_metrics`); moduli-only records (the binaries) the MAE of K_VRH and
G_VRH of the mean C. Each model predicts the split once (``predict_structures``, symmetrized unless
``--no-symmetrize``); an ensemble's C is the mean of its members' C (Eq. 3 and the point-group projection are
linear, so this is exactly what the committee :meth:`stn_plugin.predictor.ElasticPredictor.committee` predicts). Rows: every model alone, every
ensemble of ``--min-size`` to ``--max-size`` members, sorted by the C_ij MAE. Use it on the validation split to choose the members; report the test
split only for the choice. ``--reference NAME`` adds a model scored alone (e.g. the shipped committee, already a
committee of its own).

Usage (from the repository root)::

    stn data prepare --output prepared --seed 0
    python -m benchmarks.ensemble_members --data prepared/val.jsonl \
        a=runs/a/model b=runs/b/model c=runs/c/model
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools

import numpy as np
import torch

import stn_plugin
from stn_plugin.data import load_jsonl
from stn_plugin.evaluation import EvaluationData, evaluate
from stn_plugin.evaluation.records import anisotropy_metrics
from stn_plugin.physics.moduli import reuss_averages, voigt_averages
from stn_plugin.predictor.prediction import ElasticPrediction


def vrh_mae(elastic: np.ndarray, k_vrh: np.ndarray, g_vrh: np.ndarray) -> tuple[float, float]:
    """MAE (GPa) of K_VRH and G_VRH of stiffnesses ``elastic`` (N, 6, 6) GPa against the DFT values (N,)."""
    (k_v, g_v), (k_r, g_r) = voigt_averages(elastic), reuss_averages(np.linalg.inv(elastic))
    return float(np.abs(0.5 * (k_v + k_r) - k_vrh).mean()), float(np.abs(0.5 * (g_v + g_r) - g_vrh).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=DIRECTORY (or NAME=pretrained name)")
    parser.add_argument("--data", required=True, help="JSON-lines split, e.g. prepared/val.jsonl")
    parser.add_argument("--no-symmetrize", dest="symmetrize", action="store_false")
    parser.add_argument("--min-size", type=int, default=2, help="smallest ensemble listed")
    parser.add_argument("--max-size", type=int, help="largest ensemble listed (default: all the models)")
    parser.add_argument("--reference", nargs="*", default=[], help="models scored alone, not in any ensemble")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = load_jsonl(args.data)
    found: dict[str, dict[str, ElasticPrediction]] = {}
    for spec in [*args.models, *args.reference]:
        name, _, path = spec.partition("=")
        model = stn_plugin.load(path or name)
        results = model.predict_structures([r.structure for r in records], symmetrize=args.symmetrize, errors="skip")
        found[name] = {
            r.material_id: p for r, p in zip(records, results, strict=True) if isinstance(p, ElasticPrediction)
        }
        print(f"predicted {args.data} with {name}: {len(records) - len(found[name])} records refused", flush=True)
    common = [r for r in records if all(r.material_id in by_id for by_id in found.values())]
    tensors = [r for r in common if r.has_tensor]
    moduli_only = [r for r in common if not r.has_tensor]
    k_true, g_true = (np.array([getattr(r, key) for r in moduli_only], dtype=float) for key in ("k_vrh", "g_vrh"))
    predicted = {
        name: (
            EvaluationData.from_predictions(tensors, [by_id[r.material_id] for r in tensors]),
            np.array([np.asarray(by_id[r.material_id].elastic_tensor.voigt) for r in moduli_only]).reshape(-1, 6, 6),
        )
        for name, by_id in found.items()
    }

    rows = []
    names = [spec.partition("=")[0] for spec in args.models]
    sizes = [1, *range(max(args.min_size, 2), min(args.max_size or len(names), len(names)) + 1)]
    groups = [(m,) for m in args.reference] + [c for size in sizes for c in itertools.combinations(names, size)]
    for members in groups:
        data = dataclasses.replace(
            predicted[members[0]][0],
            sed_pred=np.mean([predicted[m][0].sed_pred for m in members], axis=0),
            elastic_pred=np.mean([predicted[m][0].elastic_pred for m in members], axis=0),
            dcv_prob=None,
            dcv_true=None,
        )
        k_mae, g_mae = vrh_mae(np.mean([predicted[m][1] for m in members], axis=0), k_true, g_true)
        overall = evaluate(data).overall
        rows.append(
            (
                overall.cij_mae_gpa,
                "+".join(members),
                overall,
                k_mae,
                g_mae,
                anisotropy_metrics(tensors, data.elastic_pred),
            )
        )
    print(
        f"\n{args.data}: {len(tensors)} tensor and {len(moduli_only)} moduli-only records predicted by every model, MAE "
        f"(symmetrized: {args.symmetrize})"
    )
    print(
        f"{'models':50s} {'U meV/at':>9s} {'C_ij GPa':>9s} {'B_V GPa':>8s} {'G_V GPa':>8s} {'Young GPa':>9s} "
        f"{'K_VRH':>7s} {'G_VRH':>7s} {'logC33/C11':>10s} {'A_U':>6s} {'A_U med':>7s}"
    )
    for _, label, o, k_mae, g_mae, a in sorted(rows, key=lambda row: row[0]):
        print(
            f"{label:50s} {o.sed_mae_mev:9.3f} {o.cij_mae_gpa:9.2f} {o.bulk_voigt_mae_gpa:8.2f} "
            f"{o.shear_voigt_mae_gpa:8.2f} {o.young_mae_gpa:9.1f} {k_mae:7.2f} {g_mae:7.2f} "
            f"{a['log_c33_c11_mae']:10.3f} {a['universal_anisotropy_mae']:6.3f} {a['universal_anisotropy_median_ae']:7.3f}"
        )


if __name__ == "__main__":
    main()
