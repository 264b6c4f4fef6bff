"""Metrics of several trained models and of their ensembles (mean U, hence mean C) on one JSON-lines split.

Each model predicts the split once (``predict_structures``, symmetrized unless ``--no-symmetrize``); an
ensemble's C is the mean of its members' C (Eq. 3 and the point-group projection are linear, so this is exactly
what :class:`stn_plugin.models.StnEnsemble` predicts). Rows: every model alone, every ensemble of ``--min-size``
or more members, sorted by the C_ij MAE. Use it on the validation split to choose the members; report the test
split only for the choice.

Usage (from the repository root)::

    stn data prepare --output prepared --seed 0
    python -m benchmarks.ensemble_members --data prepared/val.jsonl --vector-zero-threshold 1e-4 \
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=DIRECTORY (or NAME=pretrained name)")
    parser.add_argument("--data", required=True, help="JSON-lines split, e.g. prepared/val.jsonl")
    parser.add_argument("--no-symmetrize", dest="symmetrize", action="store_false")
    parser.add_argument("--min-size", type=int, default=2, help="smallest ensemble listed")
    parser.add_argument(
        "--vector-zero-threshold", type=float, help="set every model's zero-vector threshold first (as shipped)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = load_jsonl(args.data)
    structures = [r.structure for r in records]
    predicted: dict[str, EvaluationData] = {}
    for spec in args.models:
        name, _, path = spec.partition("=")
        model = stn_plugin.load(path or name)
        if args.vector_zero_threshold is not None:
            model = model.with_vector_zero_threshold(args.vector_zero_threshold)
        predictions = model.predict_structures(structures, symmetrize=args.symmetrize)
        predicted[name] = EvaluationData.from_predictions(records, predictions)
        print(f"predicted {args.data} with {name}", flush=True)

    rows = []
    names = list(predicted)
    sizes = [1, *range(max(args.min_size, 2), len(names) + 1)]
    for size in sizes:
        for members in itertools.combinations(names, size):
            data = dataclasses.replace(
                predicted[members[0]],
                sed_pred=np.mean([predicted[m].sed_pred for m in members], axis=0),
                elastic_pred=np.mean([predicted[m].elastic_pred for m in members], axis=0),
                dcv_prob=None,
                dcv_true=None,
            )
            o = evaluate(data).overall
            rows.append((o.cij_mae_gpa, "+".join(members), o))
    print(f"\n{args.data}, {len(records)} materials, MAE (symmetrized: {args.symmetrize})")
    print(f"{'models':50s} {'U meV/at':>9s} {'C_ij GPa':>9s} {'B_V GPa':>8s} {'G_V GPa':>8s} {'Young GPa':>9s}")
    for _, label, o in sorted(rows, key=lambda row: row[0]):
        print(
            f"{label:50s} {o.sed_mae_mev:9.3f} {o.cij_mae_gpa:9.2f} {o.bulk_voigt_mae_gpa:8.2f} "
            f"{o.shear_voigt_mae_gpa:8.2f} {o.young_mae_gpa:9.1f}"
        )


if __name__ == "__main__":
    main()
