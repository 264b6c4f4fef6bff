"""Per-crystal-system mean-tensor baseline on the bundled de Jong (2015) data: Table II metrics on the test split.

The split is the package's own (``stn_plugin.data.splits.stratified_split``: seeded, stratified by crystal
system, 80/10/10), made after ``stn_plugin.data.filters.filter_records`` with its default checks, so the
numbers compare directly with a model trained by the package on the same seed. Crystal systems come from
pymatgen ``SpacegroupAnalyzer(symprec=0.01)`` (``ElasticRecord.crystal_system``). Tensors are
``elastic_tensor_original``, each in its own structure's frame.

Usage (from the repository root)::

    python benchmarks/baselines.py [--seed 0] [--no-filter] [--report DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from stn_plugin.data import filter_records, load_bundled_dataset, stratified_split
from stn_plugin.data.records import ElasticRecord
from stn_plugin.evaluation import evaluate, write_report
from stn_plugin.evaluation.baselines import mean_tensor_baseline_data


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--no-filter", action="store_true", help="keep records that fail the default filters")
    parser.add_argument("--report", type=Path, default=None, help="also write a full report directory here")
    return parser.parse_args()


def main() -> None:
    args = _parse_args()
    start = time.perf_counter()
    records = load_bundled_dataset()
    if not args.no_filter:
        records, _ = filter_records(records)  # logs what it removed
    split = stratified_split(records, seed=args.seed)
    by_id: dict[str, ElasticRecord] = {r.material_id: r for r in records}
    train = [by_id[i] for i in split.train]
    test = [by_id[i] for i in split.test]
    print(f"split seed {args.seed}: train {len(train)}, val {len(split.val)}, test {len(test)}")
    print("test per crystal system:", {s: c["test"] for s, c in split.counts.items()})

    data = mean_tensor_baseline_data(train, test)
    metrics = write_report(data, args.report) if args.report else evaluate(data)
    print()
    print(metrics.to_markdown())
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
