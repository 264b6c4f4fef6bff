"""Prediction throughput of the shipped model: full 6x6 tensor + moduli for 1, 16 and 256 materials.

For each material count, torch thread count and ``materials_per_batch`` the table gives the wall time of
``model.predict_structures(structures, materials_per_batch=...)`` (structure in, ``ElasticPrediction`` out;
best of ``--repeats``), materials/s, ms per material and process CPU ms per material, and, for 8 materials per
batch, the wall-time split into

* graph building (``ElasticPredictor.strained_graphs``: input checks, spglib standardisation, neighbour search,
  21 strained graphs),
* model (PyG collation + forward passes of ``ElasticPredictor._predict_graphs``),
* elastic assembly (U -> C (Eq. 3) and the moduli, ``elastic_prediction``).

Materials: 1 and 16 from the seed-0 test split, 256 from the whole bundled data set (seeded shuffles).
``symmetrize=True`` (the default prediction; ``--no-symmetrize`` for the raw C). ``--compile`` additionally wraps each message-passing layer in
``torch.compile`` (whole-model compilation fails on e3nn's ``Irreps`` in torch 2.13) and reports the
compilation time separately. Usage (repository root)::

    python -m benchmarks.prediction_throughput [--counts 1 16 256] [--threads 1 2] [--batches 1 8 32]
    python -m benchmarks.prediction_throughput --no-keep-freed-memory   # glibc malloc defaults, for comparison
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure

from benchmarks._common import (
    DEFAULT_OUTPUT_DIR,
    all_records,
    load_model,
    machine_info,
    print_table,
    split_records,
    write_json,
)
from stn_plugin.graph.batching import DEFAULT_MAX_EDGES_PER_PASS
from stn_plugin.runtime import keep_freed_memory


def materials(count: int, seed: int) -> list[Structure]:
    """``count`` structures: test split (seed 0) for up to 100, else the whole bundled set, seeded shuffle."""
    records = split_records("test", seed=0) if count <= 100 else all_records()
    order = np.random.default_rng(seed).permutation(len(records))[:count]
    return [records[k].structure for k in order]


def best_time(function: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(wall s, process CPU s) of the fastest (by wall time) of ``repeats`` calls.

    On a shared machine the CPU time is the better measure of the work (it does not grow while the process
    waits for a core); with several threads it sums all threads.
    """
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def stage_times(
    model: Any, structures: Sequence[Structure], materials_per_batch: int, symmetrize: bool
) -> dict[str, float]:
    """Seconds spent in graph building, model (collation + forward) and elastic assembly for all structures."""
    times = {"graphs_s": 0.0, "model_s": 0.0, "elastic_s": 0.0}
    for start in range(0, len(structures), materials_per_batch):
        chunk = structures[start : start + materials_per_batch]
        t0 = time.perf_counter()
        prepared = [model.strained_graphs(s) for s in chunk]
        graphs = [g for _, material_graphs, _ in prepared for g in material_graphs]
        t1 = time.perf_counter()
        with torch.inference_mode():
            outputs = model._predict_graphs(graphs, DEFAULT_MAX_EDGES_PER_PASS)
        t2 = time.perf_counter()
        model._elastic_predictions(prepared, outputs, symmetrize)
        t3 = time.perf_counter()
        times["graphs_s"] += t1 - t0
        times["model_s"] += t2 - t1
        times["elastic_s"] += t3 - t2
    return times


def compile_layers(model: Any) -> None:
    """Wrap every attention and readout layer's forward in ``torch.compile(dynamic=True)`` (benchmark only)."""
    for network in model.networks:
        for layer in [*network.encoder.attention, *network.encoder.readouts.values()]:
            layer.forward = torch.compile(layer.forward, dynamic=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023", help="registry name or model folder; a+b is their ensemble")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 16, 256], help="materials per measurement")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32], help="materials_per_batch values")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (best wall time); 1 for 256 materials")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd layers")
    parser.add_argument("--no-keep-freed-memory", action="store_true", help="leave glibc's malloc defaults")
    parser.add_argument("--no-symmetrize", dest="symmetrize", action="store_false", help="raw C (no projection)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "prediction_throughput.json")
    args = parser.parse_args()
    allocator = False if args.no_keep_freed_memory else keep_freed_memory()
    model = load_model(args.model)
    before = machine_info()
    rows: list[dict[str, Any]] = []
    for count in args.counts:
        structures = materials(count, args.seed)
        sites = [len(s) for s in structures]
        repeats = args.repeats if count <= 16 else 1
        for threads in args.threads:
            torch.set_num_threads(threads)
            model.predict_structures(materials(2, args.seed + 1))  # warm-up at this thread count
            for batch in sorted({min(b, count) for b in args.batches}):
                predict = partial(model.predict_structures, structures, args.symmetrize, materials_per_batch=batch)
                wall, cpu = best_time(predict, repeats)
                row = {
                    "materials": count,
                    "mean sites": float(np.mean(sites)),
                    "threads": threads,
                    "materials_per_batch": batch,
                    "wall s": wall,
                    "materials/s": count / wall,
                    "ms/material": 1e3 * wall / count,
                    "CPU ms/material": 1e3 * cpu / count,
                }
                if batch == min(8, count):
                    stages = stage_times(model, structures, batch, args.symmetrize)
                    row |= {f"{key[:-2]} ms/material": 1e3 * t / count for key, t in stages.items()}
                rows.append(row)
                print_table([row])
    if args.compile:
        torch.set_num_threads(args.threads[0])
        compile_layers(model)
        start = time.perf_counter()
        model.predict_structures(materials(2, args.seed + 1))
        compile_s = time.perf_counter() - start
        for count in args.counts:
            structures = materials(count, args.seed)
            batch = min(8, count)
            predict = partial(model.predict_structures, structures, args.symmetrize, materials_per_batch=batch)
            wall, cpu = best_time(predict, 1)
            stages = stage_times(model, structures, batch, args.symmetrize)
            rows.append(
                {
                    "materials": count,
                    "threads": args.threads[0],
                    "materials_per_batch": batch,
                    "wall s": wall,
                    "materials/s": count / wall,
                    "ms/material": 1e3 * wall / count,
                    "CPU ms/material": 1e3 * cpu / count,
                    **{f"{key[:-2]} ms/material": 1e3 * t / count for key, t in stages.items()},
                    "compiled": f"yes (first call {compile_s:.0f} s)",
                }
            )
    print()
    print_table(rows)
    write_json(
        args.output,
        {
            "benchmark": "prediction_throughput",
            "model": args.model,
            "symmetrize": args.symmetrize,
            "keep_freed_memory": allocator,
            "max_edges_per_pass": DEFAULT_MAX_EDGES_PER_PASS,
            "rows": rows,
            "machine_before": before,
            "machine_after": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
