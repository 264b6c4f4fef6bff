"""Shrinkage of a model's predicted moduli towards the mean: signed error by thirds of the true G_V, and the
slope of predicted against true B_V and G_V (GPa), on JSON-lines splits (``stn data prepare`` output).

Usage (from the repository root)::

    stn data prepare --output prepared --seed 0
    python -m benchmarks.shear_bias stn-mp-2023 prepared/val.jsonl prepared/test.jsonl
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


if __name__ == "__main__":
    main()
