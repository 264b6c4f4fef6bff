"""Where a ``predict_structures`` call spends its time: cProfile of the shipped model on test-split materials.

Profiles one ``model.predict_structures(structures, symmetrize=...)`` call (after a warm-up call on two
other materials) and attributes its time to the pipeline stages below (cumulative cProfile times, nested
stages subtracted so the rows add up to the total):

* structure checks (``graph.checks.check_structure`` / ``check_edges``);
* standardisation (spglib conventional cell, ``structure.canonical.canonicalize``);
* neighbour search (the edge strategy's ``__call__``);
* symmetry / DCV of the graph cell (``physics.symmetry.analyze_symmetry``);
* graph assembly (the rest of ``ElasticPredictor.strained_graphs``: node features, 21 strained edge sets);
* batch collation (PyG ``Batch.from_data_list``);
* model forward;
* symmetrize projection (``point_group_operations`` + ``project_elastic_tensor`` under ``elastic_prediction``);
* moduli (``physics.moduli.elastic_moduli``) and the rest of ``elastic_prediction``.

It also prints the wall time of the same call without the profiler and the top functions by cumulative
time. Usage (repository root; 1 thread by default)::

    python -m benchmarks.profile_prediction [--materials 20] [--symmetrize] [--threads 1] [--output FILE]
    python -m benchmarks.profile_prediction --no-keep-freed-memory   # glibc malloc defaults

``--no-keep-freed-memory`` also runs on commits before ``stn_plugin.runtime`` existed (the "before" profile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Iterable
from pathlib import Path

import torch

import stn_plugin
from benchmarks._common import DEFAULT_OUTPUT_DIR, machine_info, print_table, split_records, write_json

Key = tuple[str, int, str]

STAGES: dict[str, list[tuple[str, str]]] = {
    "structure checks": [
        ("graph/checks.py", "check_structure"),
        ("graph/checks.py", "check_edges"),
    ],
    "standardisation (spglib)": [("structure/canonical.py", "canonicalize")],
    "neighbour search": [("graph/edges.py", "__call__")],
    "symmetry / DCV (spglib)": [("physics/symmetry.py", "analyze_symmetry")],
}
"""Stages nested in ``ElasticPredictor.strained_graphs``: (file suffix, function name) of their entry points."""


def _matching(stats: dict, targets: Iterable[tuple[str, str]]) -> list[Key]:
    return [key for key in stats for suffix, name in targets if key[0].endswith(suffix) and key[2] == name]


def _cumulative(stats: dict, targets: Iterable[tuple[str, str]]) -> float:
    return sum(stats[key][3] for key in _matching(stats, targets))


def _cumulative_from(stats: dict, targets: Iterable[tuple[str, str]], caller: tuple[str, str]) -> float:
    """Cumulative time of ``targets`` when called directly from ``caller``."""
    total = 0.0
    for key in _matching(stats, targets):
        for caller_key, (_, _, _, ct) in stats[key][4].items():
            if caller_key[0].endswith(caller[0]) and caller_key[2] == caller[1]:
                total += ct
    return total


def stage_times(profile: cProfile.Profile) -> dict[str, float]:
    """Seconds per pipeline stage (rows add up to the profiled total; 'other' is the remainder)."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = _cumulative(stats, [("predictor/predictor.py", "predict_structures")])
    times = {name: _cumulative(stats, targets) for name, targets in STAGES.items()}
    times["graph assembly"] = _cumulative(stats, [("predictor/predictor.py", "strained_graphs")]) - sum(times.values())
    times["batch collation"] = _cumulative(stats, [("torch_geometric/data/batch.py", "from_data_list")])
    times["model forward"] = _cumulative(stats, [("models/straintensornet.py", "forward")])
    elastic = ("predictor/prediction.py", "elastic_prediction")
    times["symmetrize projection"] = _cumulative_from(
        stats,
        [("physics/symmetry.py", "point_group_operations"), ("physics/symmetry.py", "project_elastic_tensor")],
        elastic,
    )
    times["moduli"] = _cumulative(stats, [("physics/moduli.py", "elastic_moduli")])
    times["elastic assembly (rest)"] = _cumulative(stats, [elastic]) - times["symmetrize projection"] - times["moduli"]
    times["other"] = total - sum(times.values())
    times["total"] = total
    return times


def top_functions(profile: cProfile.Profile, n: int) -> list[dict[str, object]]:
    """The ``n`` functions with the largest cumulative time."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)[:n]
    return [
        {
            "function": f"{Path(k[0]).parent.name}/{Path(k[0]).name}:{k[1]}({k[2]})",
            "calls": v[1],
            "cumulative_s": v[3],
            "own_s": v[2],
        }
        for k, v in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023")
    parser.add_argument("--materials", type=int, default=20, help="test-split materials (split seed 0)")
    parser.add_argument("--materials-per-batch", type=int, default=8)
    parser.add_argument("--symmetrize", action="store_true", help="project C onto the point group")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=25, help="top functions to list")
    parser.add_argument("--no-keep-freed-memory", action="store_true", help="leave glibc's malloc defaults")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "profile_prediction.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.no_keep_freed_memory:
        from stn_plugin.runtime import keep_freed_memory

        keep_freed_memory()
    records = split_records("test", seed=0)
    structures = [r.structure for r in records[2 : 2 + args.materials]]
    model = stn_plugin.load(args.model)
    before = machine_info()
    model.predict_structures([r.structure for r in records[:2]], symmetrize=args.symmetrize)  # warm-up
    start = time.perf_counter()
    model.predict_structures(structures, symmetrize=args.symmetrize, materials_per_batch=args.materials_per_batch)
    wall = time.perf_counter() - start
    profile = cProfile.Profile()
    profile.enable()
    model.predict_structures(structures, symmetrize=args.symmetrize, materials_per_batch=args.materials_per_batch)
    profile.disable()
    times = stage_times(profile)
    rows = [
        {"stage": name, "s": t, "ms/material": 1e3 * t / len(structures), "share %": 100 * t / times["total"]}
        for name, t in times.items()
    ]
    print(
        f"{len(structures)} test materials, symmetrize={args.symmetrize}, {args.threads} thread(s), "
        f"wall without profiler {wall:.2f} s ({1e3 * wall / len(structures):.0f} ms/material)"
    )
    print_table(rows)
    top = top_functions(profile, args.top)
    print()
    print_table(top)
    write_json(
        args.output,
        {
            "benchmark": "profile_prediction",
            "model": args.model,
            "materials": len(structures),
            "atoms": [len(s) for s in structures],
            "symmetrize": args.symmetrize,
            "keep_freed_memory": not args.no_keep_freed_memory,
            "materials_per_batch": args.materials_per_batch,
            "wall_s_without_profiler": wall,
            "stages_s_with_profiler": times,
            "top_functions": top,
            "machine_before": before,
            "machine_after": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
