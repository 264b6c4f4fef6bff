"""Shrinkage of a model's predicted moduli towards the mean: signed error by thirds of the true G_V, and the
slope of predicted against true B_V and G_V (GPa), on JSON-lines splits (``stn data prepare`` output);
with ``--worst N`` also the N materials with the largest G_V errors and their share of the summed error.

Usage (from the repository root)::

    stn data prepare --output prepared --seed 0
    python -m benchmarks.shear_bias stn-mp-2023 prepared/val.jsonl prepared/test.jsonl
    python -m benchmarks.shear_bias stn-mp-2023-fast prepared/test.jsonl --worst 15
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import stn_plugin
from stn_plugin.data import load_jsonl
from stn_plugin.evaluation import EvaluationData, voigt_moduli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="pretrained name or saved model directory")
    parser.add_argument("data", nargs="+", help="JSON-lines files")
    parser.add_argument("--worst", type=int, default=0, help="list the N largest G_V errors")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = stn_plugin.load(args.model)
    for path in args.data:
        records = load_jsonl(path)
        data = EvaluationData.from_predictions(records, model.predict_structures([r.structure for r in records]))
        true, pred = voigt_moduli(data.elastic_true), voigt_moduli(data.elastic_pred)
        g_true, g_pred = true["shear_voigt"], pred["shear_voigt"]
        slopes = {k: np.polyfit(true[k], pred[k], 1)[0] for k in ("bulk_voigt", "shear_voigt")}
        print(f"{path}: slope of predicted vs true B_V {slopes['bulk_voigt']:.2f}, G_V {slopes['shear_voigt']:.2f}")
        edges = np.quantile(g_true, [0, 1 / 3, 2 / 3, 1])
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            k = (g_true >= lo) & (g_true <= hi)
            error = g_pred[k] - g_true[k]
            print(
                f"  true G_V {lo:6.0f}-{hi:4.0f} GPa: MAE {np.abs(error).mean():5.1f}, mean signed error {error.mean():6.1f}"
            )
        if args.worst:
            errors = np.abs(g_pred - g_true)
            worst = np.argsort(-errors)[: args.worst]
            share = errors[worst].sum() / errors.sum()
            print(f"  {args.worst} largest G_V errors ({100 * share:.0f} % of the summed error):")
            for i in worst:
                r = records[i]
                print(
                    f"    {r.material_id:11s} {r.structure.composition.reduced_formula:10s} {data.crystal_systems[i]:12s} "
                    f"V/atom {r.volume_per_atom:5.1f} A^3  G_V true {g_true[i]:6.1f}  predicted {g_pred[i]:6.1f} GPa"
                )


if __name__ == "__main__":
    main()
