"""Edge-count statistics of the bundled data set for each edge strategy (cf. paper Table III).

Prints, per strategy, the distribution of directed edges per material (mean, SD, min, quartiles,
max) and the conversion time (standardisation + edge selection, no cache). Example:

    python benchmarks/edge_statistics.py                       # all strategies, all 1004 materials
    python benchmarks/edge_statistics.py --strategies crystalnn --subset 200 --seed 0
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
import warnings
from importlib.resources import files

import numpy as np
import torch
from pymatgen.core import Structure

from stn_plugin.graph import EDGE_STRATEGIES, StrainedGraphConverter


def load_bundled() -> list[Structure]:
    """Structures of ``stn_plugin/data/files/dejong2015_mp_elastic.jsonl.gz``."""
    path = files("stn_plugin.data").joinpath("files/dejong2015_mp_elastic.jsonl.gz")
    with gzip.open(str(path), "rt") as f:
        return [Structure.from_dict(json.loads(line)["structure"]) for line in f]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", nargs="+", default=list(EDGE_STRATEGIES), choices=list(EDGE_STRATEGIES))
    parser.add_argument("--subset", type=int, default=None, help="random subset size (default: all materials)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random subset")
    parser.add_argument("--no-standardize", action="store_true", help="use the cells as given")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")

    structures = load_bundled()
    if args.subset is not None:
        pick = np.random.default_rng(args.seed).choice(len(structures), size=args.subset, replace=False)
        structures = [structures[k] for k in sorted(pick)]
    atoms = []
    header = "| strategy | materials | mean | SD | min | 25% | 50% | 75% | max | total edges | time (s) | ms/material |"
    rows = []
    for name in args.strategies:
        converter = StrainedGraphConverter(edges=name, standardize=not args.no_standardize)
        start = time.perf_counter()
        result = converter.convert_many(structures, progress=True)
        elapsed = time.perf_counter() - start
        counts = np.array([m.num_edges for m in result.materials])
        atoms = [m.num_atoms for m in result.materials]
        q25, q50, q75 = np.percentile(counts, [25, 50, 75])
        rows.append(
            f"| {name} | {len(counts)} | {counts.mean():.1f} | {counts.std(ddof=1):.1f} | {counts.min()} | "
            f"{q25:.0f} | {q50:.0f} | {q75:.0f} | {counts.max()} | {counts.sum():,} | {elapsed:.1f} | "
            f"{1000 * elapsed / len(counts):.1f} |"
        )
    print(
        f"{len(structures)} materials, {sum(atoms):,} atoms in the graphs "
        f"({'input cells' if args.no_standardize else 'conventional standard cells'})"
    )
    print(header)
    print("|" + "---|" * 12)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
