"""Side by side, same process, same structures: ``stn-mp-2023`` (or the ``--model`` list) versus CHGNet + matcalc
``ElasticityCalc``.

Needs the benchmark extras (``pip install .[bench]``: chgnet, matcalc); the package itself does not.
Materials: the seed-0 test split (never seen by ``stn-mp-2023``), cells with at most ``--max-sites`` sites,
the first ``--materials`` of a seeded shuffle. For every material and method: wall time of the full
prediction (structure in, 6x6 tensor and moduli out; model loading excluded and reported separately) and
K_VRH, G_VRH against the DFT tensor of the record (pymatgen VRH averages of all three tensors).

* ``stn-mp-2023``: ``predict_structure`` one material at a time (what ``stn models predict`` does) and
  ``predict_structures`` over all materials at once (batched); ``symmetrize=False`` (raw C): the symmetrized C of a crystal whose predicted shear
  stiffness is about zero (LiZn) is singular, and its Reuss (hence VRH) average is undefined.
* CHGNet 0.3.0 (weights from the ``chgnet`` wheel) as ASE calculator in matcalc's ``ElasticityCalc``:
  FIRE relaxation of cell and positions (``fmax`` 0.05 eV/A, matcalc's benchmark setting), then
  pymatgen's ``DeformedStructureSet`` (4 normal strains of +-0.5, +-1 % and 4 shear strains of +-3,
  +-6 % per Voigt component: 24 cells) and a linear stress-strain fit. ``relaxed`` ion setting:
  atoms of every deformed cell relaxed at fixed cell (``relax_deformed_structures=True``), as in the DFT
  reference (relaxed-ion tensors); ``clamped``: no relaxation of the deformed cells (matcalc's default).

Both run in this process with the same torch thread count and the same allocator setting
(``stn_plugin.runtime.keep_freed_memory``, off with ``--no-keep-freed-memory``). matcalc lists MatGL's
Hugging Face models when imported; the script re-runs itself with ``HF_HUB_OFFLINE=1`` (read by
huggingface_hub at import) so that this fails at once instead of retrying for 20 s; nothing is downloaded
(CHGNet's weights ship in its wheel). Usage (repository root)::

    python -m benchmarks.chgnet_comparison [--materials 20] [--max-sites 20] [--ion-relaxation both] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.analysis.elasticity import ElasticTensor

import stn_plugin
from benchmarks._common import DEFAULT_OUTPUT_DIR, machine_info, print_table, split_records, write_json
from stn_plugin.data import ElasticRecord
from stn_plugin.runtime import keep_freed_memory

FMAX: float = 0.05
"""eV/Angstrom, force tolerance of every CHGNet relaxation (matcalc's ElasticityBenchmark default)."""


def select_materials(n: int, max_sites: int, seed: int) -> list[ElasticRecord]:
    """``n`` test-split records (split seed 0) with at most ``max_sites`` sites, in a seeded random order."""
    records = [r for r in split_records("test", seed=0) if len(r.structure) <= max_sites]
    order = np.random.default_rng(seed).permutation(len(records))
    return [records[k] for k in order[:n]]


def vrh(C: np.ndarray) -> tuple[float, float]:
    """(K_VRH, G_VRH) of a 6x6 Voigt stiffness, GPa (pymatgen)."""
    tensor = ElasticTensor.from_voigt(np.asarray(C, dtype=float))
    return float(tensor.k_vrh), float(tensor.g_vrh)


def run_stn(records: list[ElasticRecord], warmup: ElasticRecord, name: str) -> dict[str, Any]:
    """Model ``name`` one material at a time and batched: seconds and (K, G) per material."""
    start = time.perf_counter()
    model = stn_plugin.load(name)
    load_s = time.perf_counter() - start
    model.predict_structure(warmup.structure, symmetrize=False)
    single_s, moduli, tensors = [], [], []
    for record in records:
        start = time.perf_counter()
        prediction = model.predict_structure(record.structure, symmetrize=False)
        single_s.append(time.perf_counter() - start)
        moduli.append((prediction.moduli["bulk_vrh"], prediction.moduli["shear_vrh"]))
        tensors.append(prediction.elastic_tensor.voigt)
    start = time.perf_counter()
    batched = model.predict_structures([r.structure for r in records], symmetrize=False)
    batched_s = time.perf_counter() - start
    # batching must not change C (GPa); the Reuss half of K/G_VRH of a predicted C that is nearly singular
    # amplifies float32 round-off, so the check is on C itself
    for tensor, prediction in zip(tensors, batched, strict=True):
        assert np.allclose(tensor, prediction.elastic_tensor.voigt, atol=0.1)
    return {"load_s": load_s, "seconds": single_s, "batched_total_s": batched_s, "moduli": moduli}


def run_chgnet(records: list[ElasticRecord], warmup: ElasticRecord, relaxed_ions: bool) -> dict[str, Any]:
    """CHGNet + ElasticityCalc per material: seconds, (K, G) or None with the error, mean R^2 of the fits."""
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator
    from matcalc import ElasticityCalc

    start = time.perf_counter()
    calculator = CHGNetCalculator(model=CHGNet.load(verbose=False), use_device="cpu")
    load_s = time.perf_counter() - start
    calc = ElasticityCalc(
        calculator, fmax=FMAX, relax_structure=True, relax_deformed_structures=relaxed_ions, units_GPa=True
    )
    calc.calc(warmup.structure)
    seconds, moduli, errors, r2 = [], [], [], []
    for record in records:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # low-R^2 fit warnings are recorded below instead
                result = calc.calc(record.structure)
            moduli.append((float(result["bulk_modulus_vrh"]), float(result["shear_modulus_vrh"])))
            r2.append(float(result["r2_score_mean"]))
            errors.append(None)
        except Exception as exc:  # noqa: BLE001 - a failed material is reported, the others go on
            moduli.append(None)
            r2.append(None)
            errors.append(f"{type(exc).__name__}: {exc}")
        seconds.append(time.perf_counter() - start)
    return {"load_s": load_s, "seconds": seconds, "moduli": moduli, "errors": errors, "r2_mean": r2}


def summary(name: str, seconds: list[float], moduli: list, truth: list[tuple[float, float]]) -> dict[str, Any]:
    ok = [k for k, m in enumerate(moduli) if m is not None]
    k_err = [abs(moduli[k][0] - truth[k][0]) for k in ok]
    g_err = [abs(moduli[k][1] - truth[k][1]) for k in ok]
    return {
        "method": name,
        "materials ok": len(ok),
        "s/material (mean)": float(np.mean(seconds)),
        "s/material (median)": float(np.median(seconds)),
        "K_VRH MAE GPa": float(np.mean(k_err)) if ok else float("nan"),
        "G_VRH MAE GPa": float(np.mean(g_err)) if ok else float("nan"),
    }


def main() -> None:
    if os.environ.get("HF_HUB_OFFLINE") != "1":  # must be set before huggingface_hub is imported (by matgl)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.chgnet_comparison", *sys.argv[1:]], env)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, default=20)
    parser.add_argument(
        "--model", nargs="+", default=["stn-mp-2023"], help="models to time (the ratios are to the first one)"
    )
    parser.add_argument("--max-sites", type=int, default=20, help="largest cell (sites of the input structure)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle that picks the materials")
    parser.add_argument("--ion-relaxation", choices=["relaxed", "clamped", "both"], default="both")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-keep-freed-memory", action="store_true", help="leave glibc's malloc defaults")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "chgnet_comparison.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    allocator = False if args.no_keep_freed_memory else keep_freed_memory()
    records = select_materials(args.materials + 1, args.max_sites, args.seed)
    warmup, records = records[0], records[1:]
    truth = [vrh(r.elastic_tensor) for r in records]
    before = machine_info()
    print(f"{len(records)} test materials ({args.threads} thread(s)), sites: {[len(r.structure) for r in records]}")

    stn_runs = {name: run_stn(records, warmup, name) for name in args.model}
    rows = []
    for name, run in stn_runs.items():
        rows += [
            summary(f"{name}, one at a time", run["seconds"], run["moduli"], truth),
            {
                **summary(f"{name}, batched", [run["batched_total_s"] / len(records)], run["moduli"], truth),
                "s/material (median)": "-",
            },
        ]
    stn = stn_runs[args.model[0]]
    batched_per_material = stn["batched_total_s"] / len(records)
    n_stn = len(rows)
    settings = {"relaxed": [True], "clamped": [False], "both": [True, False]}[args.ion_relaxation]
    chgnet: dict[str, Any] = {}
    for relaxed_ions in settings:
        name = f"CHGNet + ElasticityCalc, {'relaxed' if relaxed_ions else 'clamped'} ions"
        chgnet[name] = run_chgnet(records, warmup, relaxed_ions)
        rows.append(summary(name, chgnet[name]["seconds"], chgnet[name]["moduli"], truth))
    for row in rows[n_stn:]:  # ratios to the first --model
        row["time ratio vs stn (one at a time)"] = row["s/material (mean)"] / rows[0]["s/material (mean)"]
        row["time ratio vs stn (batched)"] = row["s/material (mean)"] / batched_per_material

    per_material = []
    for k, record in enumerate(records):
        row = {
            "material": record.material_id,
            "formula": record.structure.composition.reduced_formula,
            "sites": len(record.structure),
            "K_DFT": truth[k][0],
            "G_DFT": truth[k][1],
        }
        for name, run in stn_runs.items():
            row |= {f"K {name}": run["moduli"][k][0], f"G {name}": run["moduli"][k][1], f"s {name}": run["seconds"][k]}
        for name, result in chgnet.items():
            tag = "relaxed" if "relaxed" in name else "clamped"
            m = result["moduli"][k]
            row |= {f"K_chg_{tag}": m[0] if m else None, f"G_chg_{tag}": m[1] if m else None}
            row |= {f"s_chg_{tag}": result["seconds"][k], f"r2_chg_{tag}": result["r2_mean"][k]}
        per_material.append(row)
    print_table(per_material)
    print()
    print_table(rows)
    after = machine_info()
    print(
        f"\nload average (1, 5, 15 min) before {before['load_average']}, after {after['load_average']}; "
        f"{args.threads} torch thread(s); ratios are CHGNet time over {args.model[0]} time:"
    )
    for row in rows[n_stn:]:
        print(
            f"  {row['method']}: {row['time ratio vs stn (one at a time)']:.0f}x one at a time, "
            f"{row['time ratio vs stn (batched)']:.0f}x batched"
        )
    write_json(
        args.output,
        {
            "benchmark": "chgnet_comparison",
            "materials": [r.material_id for r in records],
            "warmup_material": warmup.material_id,
            "threads": args.threads,
            "keep_freed_memory": allocator,
            "stn_symmetrize": False,
            "chgnet_fmax_ev_per_a": FMAX,
            "summary": rows,
            "per_material": per_material,
            "models": args.model,
            "load_seconds": {
                **{n: r["load_s"] for n, r in stn_runs.items()},
                **{n: r["load_s"] for n, r in chgnet.items()},
            },
            "chgnet_errors": {n: r["errors"] for n, r in chgnet.items()},
            "machine_before": before,
            "machine_after": after,
        },
    )


if __name__ == "__main__":
    main()
