"""float32 (the shipped model's precision) versus float64: time and how much the predictions move.

Predicts the test split (split seed 0, never seen by ``stn-mp-2023``) once with the model as trained
(float32) and once with the model and graphs in float64, and reports the wall time of each, the largest
and mean differences of U (meV/atom), C (GPa), K_VRH and G_VRH (GPa) between the two, and the K_VRH and
G_VRH MAE of each against the DFT tensors. Usage (repository root)::

    python -m benchmarks.precision [--materials 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from pymatgen.analysis.elasticity import ElasticTensor

import stn_plugin
from benchmarks._common import DEFAULT_OUTPUT_DIR, machine_info, print_table, split_records, write_json
from stn_plugin.runtime import keep_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, default=100, help="first materials of the test split")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "precision.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    records = split_records("test", seed=0)[: args.materials]
    structures = [r.structure for r in records]
    before = machine_info()
    results, seconds = {}, {}
    for dtype in (torch.float32, torch.float64):
        torch.set_default_dtype(dtype)
        model = stn_plugin.load("stn-mp-2023").to(dtype)
        model.predict_structures(structures[:2])  # warm-up
        start = time.perf_counter()
        results[dtype] = model.predict_structures(structures)
        seconds[dtype] = time.perf_counter() - start
    torch.set_default_dtype(torch.float32)
    sed = {d: np.stack([p.sed for p in results[d]]) for d in results}
    C = {d: np.stack([p.elastic_tensor.voigt for p in results[d]]) for d in results}
    kg = {d: np.array([[p.moduli["bulk_vrh"], p.moduli["shear_vrh"]] for p in results[d]]) for d in results}
    truth = np.array(
        [
            [ElasticTensor.from_voigt(r.elastic_tensor).k_vrh, ElasticTensor.from_voigt(r.elastic_tensor).g_vrh]
            for r in records
        ]
    )
    f32, f64 = torch.float32, torch.float64
    worst = np.abs(sed[f32] - sed[f64]).max(axis=(1, 2))
    rows = [
        {
            "dtype": str(d).removeprefix("torch."),
            "wall s": seconds[d],
            "ms/material": 1e3 * seconds[d] / len(records),
            "K_VRH MAE GPa": float(np.abs(kg[d][:, 0] - truth[:, 0]).mean()),
            "G_VRH MAE GPa": float(np.abs(kg[d][:, 1] - truth[:, 1]).mean()),
        }
        for d in (f32, f64)
    ]
    differences = {
        "U max meV/atom": float(worst.max()),
        "U mean meV/atom": float(np.abs(sed[f32] - sed[f64]).mean()),
        "C max GPa": float(np.abs(C[f32] - C[f64]).max()),
        "C mean GPa": float(np.abs(C[f32] - C[f64]).mean()),
        "K_VRH max GPa": float(np.abs(kg[f32][:, 0] - kg[f64][:, 0]).max()),
        "G_VRH max GPa": float(np.abs(kg[f32][:, 1] - kg[f64][:, 1]).max()),
        "materials with max |dU| > 0.01 meV/atom": int((worst > 0.01).sum()),
    }
    most = [
        {"material": records[k].material_id, "formula": records[k].formula, "max |dU| meV/atom": float(worst[k])}
        for k in np.argsort(worst)[::-1][:5]
    ]
    print_table(rows)
    print()
    print_table([differences])
    print()
    print_table(most)
    write_json(
        args.output,
        {
            "benchmark": "precision",
            "materials": len(records),
            "rows": rows,
            "float32_minus_float64": differences,
            "largest_differences": most,
            "machine_before": before,
            "machine_after": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
