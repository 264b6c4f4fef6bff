"""How prediction time and memory grow with cell size: time per material vs number of edges, with a fitted slope.

Two series, each material predicted alone (``predict_structure``, the CLI's path) after a warm-up:

* real crystals: test-split materials (split seed 0) spread over the range of cell sizes (every
  ``--stride``-th material by number of sites);
* large cells: ``n x n x n`` supercells of one test material (``--supercell-of``), n = 1..``--max-n``, every
  atom displaced by ``--rattle`` Angstrom in a random direction (seeded). Without the displacements the
  standardisation would map every supercell back to the conventional cell (the graphs do not depend on the
  input cell), so the rattling is what makes the graph grow as n^3 (it stands for a large low-symmetry
  cell, e.g. an MD snapshot or a defect supercell).

For every material: atoms and edges of the graphs (21 strained graphs, all with the same edges), wall and
process CPU time, peak resident memory of the call (Linux ``VmHWM``, reset before each call), and the
number of forward passes under the edge budget. With ``keep_freed_memory`` (the default) freed memory stays
resident, so the peak only grows when a call needs more than any call before; ``--no-keep-freed-memory``
shows each call's own peak. The fit is CPU time = a + b x edges (least squares) and the
log-log exponent. Usage (repository root)::

    python -m benchmarks.cell_size_scaling [--threads 1] [--max-n 4] [--max-edges-per-pass 200000]
    python -m benchmarks.cell_size_scaling --no-keep-freed-memory --max-edges-per-pass 0   # memory of one pass
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure

import stn_plugin
from benchmarks._common import DEFAULT_OUTPUT_DIR, machine_info, print_table, split_records, write_json
from stn_plugin.graph.batching import DEFAULT_MAX_EDGES_PER_PASS
from stn_plugin.physics.voigt import N_PAIRS
from stn_plugin.runtime import keep_freed_memory


def peak_rss_reset() -> None:
    """Reset the process's peak resident set size (Linux: write 5 to /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def rss_mb(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak since the last reset) of /proc/self/status, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(model: Any, label: str, structure: Structure, max_edges: int | None) -> dict[str, Any]:
    """One prediction of ``structure``: sizes, wall and CPU seconds, peak memory, forward passes."""
    graph = model.strained_graphs(structure)[1][0]
    edges = N_PAIRS * graph.num_edges
    graphs_per_pass = N_PAIRS if max_edges is None else max(1, max_edges // graph.num_edges)
    passes = math.ceil(N_PAIRS / graphs_per_pass)
    peak_rss_reset()
    rss_before = rss_mb("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    model.predict_structures([structure], max_edges_per_pass=max_edges)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "material": label,
        "input sites": len(structure),
        "graph atoms": graph.num_nodes,
        "edges (21 graphs)": edges,
        "forward passes": passes,
        "wall s": wall,
        "CPU s": cpu,
        "CPU us/edge": 1e6 * cpu / edges,
        "RSS before MB": rss_before,
        "peak RSS MB": rss_mb("VmHWM"),
    }


def rattled_supercell(structure: Structure, n: int, amplitude: float, seed: int) -> Structure:
    """``n x n x n`` supercell with every atom moved by ``amplitude`` Angstrom in a random direction."""
    supercell = structure * (n, n, n)
    directions = np.random.default_rng(seed).normal(size=(len(supercell), 3))
    displacements = amplitude * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return Structure(
        supercell.lattice, supercell.species, supercell.cart_coords + displacements, coords_are_cartesian=True
    )


def fit(rows: list[dict[str, Any]]) -> dict[str, float]:
    """CPU s = a + b edges (least squares) and the exponent of CPU s ~ edges^p (log-log least squares)."""
    edges = np.array([r["edges (21 graphs)"] for r in rows], dtype=float)
    cpu = np.array([r["CPU s"] for r in rows])
    slope, intercept = np.polyfit(edges, cpu, 1)
    exponent = np.polyfit(np.log(edges), np.log(cpu), 1)[0]
    return {
        "intercept_ms": 1e3 * intercept,
        "slope_us_per_edge": 1e6 * slope,
        "loglog_exponent": float(exponent),
        "r2_linear": float(np.corrcoef(edges, cpu)[0, 1] ** 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stride", type=int, default=5, help="every stride-th test material by size")
    parser.add_argument("--supercell-of", default="mp-1969", help="test material for the supercell series")
    parser.add_argument("--max-n", type=int, default=4, help="largest n of the n x n x n supercells")
    parser.add_argument("--rattle", type=float, default=0.05, help="displacement of every supercell atom, Angstrom")
    parser.add_argument(
        "--max-edges-per-pass", type=int, default=DEFAULT_MAX_EDGES_PER_PASS, help="edge budget; 0: one pass"
    )
    parser.add_argument("--no-keep-freed-memory", action="store_true", help="leave glibc's malloc defaults")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "cell_size_scaling.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    allocator = False if args.no_keep_freed_memory else keep_freed_memory()
    max_edges = args.max_edges_per_pass or None
    model = stn_plugin.load(args.model)
    records = sorted(split_records("test", seed=0), key=lambda r: (len(r.structure), r.material_id))
    model.predict_structure(records[0].structure)  # warm-up
    before = machine_info()
    real = [measure(model, r.material_id, r.structure, max_edges) for r in records[:: args.stride]]
    base = next(r for r in records if r.material_id == args.supercell_of).structure
    supercells = []
    for n in range(1, args.max_n + 1):
        label = f"{args.supercell_of} x{n}x{n}x{n} rattled"
        structure = rattled_supercell(base, n, args.rattle, seed=n)
        supercells.append(measure(model, label, structure, max_edges))
        print_table([supercells[-1]])
    fits = {"real crystals": fit(real), "rattled supercells": fit(supercells)}
    print_table(real + supercells)
    print()
    print_table([{"series": name, **values} for name, values in fits.items()])
    write_json(
        args.output,
        {
            "benchmark": "cell_size_scaling",
            "model": args.model,
            "threads": args.threads,
            "keep_freed_memory": allocator,
            "max_edges_per_pass": max_edges,
            "real_crystals": real,
            "rattled_supercells": supercells,
            "rattle_angstrom": args.rattle,
            "fits": fits,
            "machine_before": before,
            "machine_after": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
