"""Models side by side on one part of the split: C_ij, B_V, G_V per source, K_VRH / G_VRH, anisotropy, named crystals.

    stn data prepare --output prepared        # once: the combined, seeded split (train/val/test.jsonl)
    python -m benchmarks.split_evaluation --data prepared/val.jsonl --models stn-mp-2023 stn-mp-2023-fast

Prints one markdown table (rows: metrics, columns: models), the machine, thread count and load average, and
the C11 / C33 / C44 of the named layered and anisotropic crystals (graphite mp-48, h-BN mp-984, MoS2 mp-2815,
...) in their canonical frame wherever they are in the bundled data (any part; with ``--split prepared/split.json``
the part is printed next to them). ``--sample N`` scores a seeded sample of N records (the training part's error
next to validation). ``--json`` writes all metrics. One thread by default (``--threads``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

import torch

NAMED: dict[str, str] = {
    "mp-48": "graphite",
    "mp-984": "h-BN",
    "mp-2815": "MoS2",
    "mp-9813": "WS2 (3R)",
    "mp-1634": "MoSe2",
    "mp-10228": "NbSe2 (1T)",
    "mp-567259": "CdI2",
    "mp-1943": "GaSe",
    "mp-541837": "Bi2Se3",
    "mp-157": "black phosphorus",
    "mp-2653": "w-BN",
    "mp-546794": "SiO2 (I-42d)",
    "mp-2133": "ZnO",
}
"""Layered and anisotropic crystals reported one by one (graphite, h-BN and the transition-metal dichalcogenides
have C33/C11 of 0.01-0.03 in DFT)."""


def _named_rows(models: dict[str, object], split: Path | None) -> list[str]:
    from benchmarks._common import named_tensor_records
    from stn_plugin.structure.canonical import canonicalize

    parts = {}
    if split is not None:
        ids = json.loads(split.read_text())
        parts = {material_id: part for part in ("train", "val", "test") for material_id in ids[part]}
    found = named_tensor_records(list(NAMED))
    lines = ["| crystal | part | model | C11 | C33 | C44 | C33/C11 |", "|---|---|---|---|---|---|---|"]
    for material_id in NAMED:
        if material_id not in found:
            continue
        record = found[material_id]
        cell = canonicalize(record.structure)  # unique axis along z
        true = cell.to_canonical_frame(record.elastic_tensor)
        label = f"{NAMED[material_id]} {material_id}"
        part = parts.get(material_id, "-")
        lines.append(
            f"| {label} | {part} | DFT | {true[0, 0]:.0f} | {true[2, 2]:.0f} | {true[3, 3]:.0f} "
            f"| {true[2, 2] / true[0, 0]:.3f} |"
        )
        for name, model in models.items():
            C = cell.to_canonical_frame(model.predict_structure(record.structure).elastic_tensor.voigt)  # type: ignore[attr-defined]
            lines.append(
                f"| {label} | {part} | {name} | {C[0, 0]:.0f} | {C[2, 2]:.0f} | {C[3, 3]:.0f} | {C[2, 2] / C[0, 0]:.3f} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="JSON-lines part of the split (stn data prepare)")
    parser.add_argument(
        "--models", nargs="+", default=["stn-mp-2023"], help="registry names or model folders; a+b is their ensemble"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--sample", type=int, default=None, help="score a seeded random sample of this many records (e.g. of train)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write every metric of every model here")
    parser.add_argument("--no-named", action="store_true", help="skip the named crystals")
    parser.add_argument(
        "--split", type=Path, default=None, help="split.json of the parts, to show each named crystal's"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from benchmarks._common import load_model
    from stn_plugin.data import load_jsonl
    from stn_plugin.evaluation.records import SUMMARY_ROWS, evaluate_records

    records = load_jsonl(args.data)
    if args.sample is not None and args.sample < len(records):
        keep = sorted(random.Random(0).sample(range(len(records)), args.sample))
        records = [records[k] for k in keep]
    models = {name: load_model(name) for name in args.models}
    results, seconds = {}, {}
    for name, model in models.items():
        start = time.perf_counter()
        evaluation = evaluate_records(model, records)
        seconds[name] = time.perf_counter() - start
        results[name] = evaluation.flat()
        if evaluation.failures:
            print(f"{name}: {len(evaluation.failures)} records could not be predicted")
    print(
        f"{args.data}: {len(records)} records; {platform.node()}, {os.cpu_count()} cores, {args.threads} thread(s), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("\n| metric | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for key, label in SUMMARY_ROWS:
        values = [results[name].get(key) for name in models]
        print(f"| {label} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in values) + " |")
    print("| time (s) | " + " | ".join(f"{seconds[name]:.0f}" for name in models) + " |")
    if not args.no_named:
        print()
        print("\n".join(_named_rows(models, args.split)))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
