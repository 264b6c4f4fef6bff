"""The crystals whose universal anisotropy index A_U a model gets most wrong, on one JSON-lines split.

A_U = 5 G_V/G_R + K_V/K_R - 6 (``stn_plugin.evaluation.records.anisotropy_metrics`` averages its absolute error);
a nearly singular predicted C makes it huge, so a few crystals can dominate the mean. Prints, for the first
model's worst ``--top`` crystals, the DFT A_U and every model's, with C11 / C12 / C44 (GPa, in the crystal's
canonical frame) in brackets, and the first model's mean error without them.

Usage (from the repository root; ``a+b`` is the ensemble of two model folders)::

    python -m benchmarks.anisotropy_outliers --data prepared/val.jsonl --models stn-mp-2023 runs/shipped/bondA1 \
        runs/shipped/bavA1+runs/shipped/bondA1
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks._common import load_model
from stn_plugin.data import load_jsonl
from stn_plugin.evaluation.records import elastic_moduli, universal_anisotropy_errors
from stn_plugin.structure.canonical import canonicalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="JSON-lines split, e.g. prepared/val.jsonl")
    parser.add_argument(
        "--models", nargs="+", required=True, help="registry names or model folders; a+b is their ensemble"
    )
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = [r for r in load_jsonl(args.data) if r.elastic_tensor is not None]
    cells = [canonicalize(r.structure) for r in records]
    tensors = {}
    for name in args.models:
        results = load_model(name).predict_structures([r.structure for r in records], errors="skip")
        tensors[name] = [None if isinstance(p, Exception) else np.asarray(p.elastic_tensor.voigt) for p in results]

    def cell_text(C: np.ndarray | None, i: int) -> str:
        """A_U (C11 / C12 / C44 in the canonical frame) of record i's C."""
        if C is None:
            return "refused"
        c = cells[i].to_canonical_frame(C)
        return f"{elastic_moduli(C).universal_anisotropy:.2f} ({c[0, 0]:.1f} / {c[0, 1]:.1f} / {c[3, 3]:.1f})"

    errors = universal_anisotropy_errors(records, tensors[args.models[0]])
    order = np.argsort(-np.nan_to_num(errors, nan=-1.0))
    print("| material | formula | DFT A_U | " + " | ".join(args.models) + " |")
    print("|---|---|---|" + "---|" * len(args.models))
    for i in order[: args.top]:
        values = " | ".join(cell_text(tensors[name][i], i) for name in args.models)
        print(
            f"| {records[i].material_id} | {records[i].structure.composition.reduced_formula} | "
            f"{cell_text(records[i].elastic_tensor, i)} | {values} |"
        )
    finite = np.isfinite(errors)
    rest = finite.copy()
    rest[order[: args.top]] = False
    print(
        f"\n{args.models[0]}: A_U MAE {errors[finite].mean():.3f} over {finite.sum()}, "
        f"{errors[rest].mean():.3f} without the worst {args.top}; worst alone: {errors[order[0]]:.2f}"
    )


if __name__ == "__main__":
    main()
