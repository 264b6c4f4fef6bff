"""Training and inference throughput of the StrainTensorNet model family on bundled-data graphs.

Process CPU time (``time.process_time``) with ``torch.set_num_threads(1)``: on a shared machine
this equals the wall time of a single-threaded run on an idle core (docs/model.md).

Training step = collate + forward + Eq. 9 loss (L1 + 10 BCE) + backward + Adam step, K = 1 strained
graph per material (a random Voigt pair). Epoch estimate = (CPU seconds per edge) x (edges of one
strained graph per material, summed over the selected materials), as in docs/cpu-measurements.md.

    python -m benchmarks.model_throughput --preset cpu --seconds 60
    python -m benchmarks.model_throughput --preset paper --seconds 60 --max-edges 2000
    python -m benchmarks.model_throughput --preset cpu --no-keep-freed-memory   # glibc malloc defaults

Prints a table and writes the numbers with the machine description to ``--output`` (JSON).
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure
from torch_geometric.data import Batch

from benchmarks._common import DEFAULT_OUTPUT_DIR, machine_info, print_table, write_json
from stn_plugin.graph import StrainedGraphConverter
from stn_plugin.models import build_model
from stn_plugin.physics.voigt import N_PAIRS
from stn_plugin.runtime import keep_freed_memory
from stn_plugin.training.config import load_preset

DATA = Path(__file__).resolve().parents[1] / "stn_plugin" / "data" / "files" / "dejong2015_mp_elastic.jsonl.gz"


def load_graphs(preset, num_materials: int, max_edges: int | None, seed: int) -> list:
    """One randomly strained graph per material, with the preset's edge settings (canonical cell, as in training)."""
    converter = StrainedGraphConverter(edges=preset.model.encoder.build_edge_strategy())
    rng = np.random.default_rng(seed)
    graphs = []
    with gzip.open(DATA, "rt") as f:
        for line in f:
            material = converter.prepare(Structure.from_dict(json.loads(line)["structure"]))
            if max_edges is not None and material.num_edges > max_edges:
                continue
            g = converter.strained_graphs(material, pairs=[int(rng.integers(N_PAIRS))])[0]
            g.sed = torch.randn(1)
            graphs.append(g)
            if len(graphs) == num_materials:
                break
    return graphs


def measure(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    preset = load_preset(args.preset, args.architecture)
    batch_size = args.batch_size or preset.training.batch_size
    graphs = load_graphs(preset, args.materials, args.max_edges, args.seed)
    model = build_model(preset.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.training.lr)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(graphs))
    batches = [[graphs[k] for k in order[i : i + batch_size]] for i in range(0, len(graphs), batch_size)]

    def step(batch_graphs: list) -> None:
        batch = Batch.from_data_list(batch_graphs)
        out = model(batch)
        loss = torch.nn.functional.l1_loss(out.sed_normalized, batch.sed)
        if out.dcv_logits is not None:
            loss = loss + preset.training.lambda_class * torch.nn.functional.binary_cross_entropy_with_logits(
                out.dcv_logits, batch.dcv
            )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step(batches[0][:2])  # warm-up
    cpu, n_graphs, n_edges = 0.0, 0, 0
    for batch_graphs in batches[1:]:
        t0 = time.process_time()
        step(batch_graphs)
        cpu += time.process_time() - t0
        n_graphs += len(batch_graphs)
        n_edges += sum(g.num_edges for g in batch_graphs)
        if cpu > args.seconds:
            break
    total_edges = sum(g.num_edges for g in graphs)
    model.eval()
    infer_cpu, infer_graphs = 0.0, 0
    with torch.inference_mode():
        for batch_graphs in batches:
            t0 = time.process_time()
            model(Batch.from_data_list(batch_graphs))
            infer_cpu += time.process_time() - t0
            infer_graphs += len(batch_graphs)
            if infer_cpu > args.seconds / 3:
                break
    params = sum(p.numel() for p in model.parameters())
    return {
        "preset": preset.name,
        "lmax": preset.model.encoder.lmax,
        "channels": preset.model.encoder.channels,
        "tensor_product": preset.model.encoder.tensor_product,
        "edges": f"{preset.model.encoder.edge_strategy} {preset.model.encoder.edge_cutoff}",
        "materials": len(graphs),
        "mean_edges": total_edges / len(graphs),
        "batch_size": batch_size,
        "graphs_timed": n_graphs,
        "train_graphs_per_s": n_graphs / cpu,
        "train_us_per_edge": 1e6 * cpu / n_edges,
        "epoch_s_K1": cpu / n_edges * total_edges,
        "infer_materials_per_s": infer_graphs / infer_cpu / N_PAIRS,
        "parameters": params,
        "model_mb_float32": params * 4 / 2**20,
        "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", help="preset name or YAML path")
    parser.add_argument("--architecture", default="straintensornet")
    parser.add_argument("--materials", type=int, default=1004, help="materials to load (one strained graph each)")
    parser.add_argument("--max-edges", type=int, default=None, help="skip materials with more edges")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU-time budget of the timed training steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-keep-freed-memory", action="store_true", help="leave glibc's malloc defaults")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "model_throughput.json")
    args = parser.parse_args()
    allocator = False if args.no_keep_freed_memory else keep_freed_memory()
    before = machine_info()
    result = measure(args)
    print_table([result])
    write_json(
        args.output,
        {
            "benchmark": "model_throughput",
            "keep_freed_memory": allocator,
            **result,
            "machine_before": before,
            "machine_after": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
