"""Time to a first prediction in a new process: the ``stn`` command on one crystal, and ``stn_plugin.load`` in Python.

Every run is a fresh interpreter (nothing imported yet; the compiled bytecode and the operating system's file cache
are what earlier runs left, as for a user's second command after installing):

* CLI: wall time of ``stn models predict MODEL FILE`` (as ``python -m stn_plugin.cli.main``, output discarded);
* Python: ``import stn_plugin``, then ``stn_plugin.load(MODEL)`` (imports of torch, PyG, matgl, e3nn and pymatgen
  included, and building the networks), the first ``predict_structure``, and a second ``stn_plugin.load(MODEL)``
  (file checks and building the networks only), each timed inside the process;
* where the command's import time goes: one more CLI run under ``python -X importtime``, the import time of each
  top-level package: its own modules, and the imports this package makes of it with all they pull in.

Each time is given as wall time and as CPU time (user + system) of the process: the loading is single-threaded,
so on an idle core the wall time is about the CPU time, while on a busy machine the wall time grows with the load
average (1 min), printed before and after each run.
Usage (repository root)::

    python -m benchmarks.first_prediction [--model stn-mp-2023] [--structure examples/structures/Si.cif]
        [--repeats 3] [--output FILE]

Prints tables and writes the numbers with the machine description to ``--output`` (JSON).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._common import DEFAULT_OUTPUT_DIR, machine_info, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]

PYTHON_LOAD = """
import json, sys, time
w0, c0 = time.perf_counter(), time.process_time()
import stn_plugin
w1, c1 = time.perf_counter(), time.process_time()
model = stn_plugin.load(sys.argv[1])
w2, c2 = time.perf_counter(), time.process_time()
from stn_plugin.io import read_structure
model.predict_structure(read_structure(sys.argv[2]))
w3, c3 = time.perf_counter(), time.process_time()
stn_plugin.load(sys.argv[1])
w4, c4 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": w1 - w0, "load_s": w2 - w1, "first_prediction_s": w3 - w2, "second_load_s": w4 - w3,
                  "import_cpu_s": c1 - c0, "load_cpu_s": c2 - c1, "first_prediction_cpu_s": c3 - c2,
                  "second_load_cpu_s": c4 - c3}))
"""
"""Run in a fresh interpreter: the times of ``import stn_plugin``, ``load`` and the first prediction."""

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def load_1min() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def cli_command(model: str, structure: str) -> list[str]:
    """``stn models predict MODEL FILE`` run by this interpreter."""
    return [sys.executable, "-m", "stn_plugin.cli.main", "models", "predict", model, structure]


def children_cpu() -> float:
    """CPU time (user + system) of the finished child processes so far, seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(model: str, structure: str) -> dict[str, float]:
    """One cold ``stn models predict`` on one crystal: wall and CPU time, the load average before and after."""
    before, cpu = load_1min(), children_cpu()
    start = time.perf_counter()
    subprocess.run(cli_command(model, structure), check=True, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - start
    return {"cli_s": wall, "cli_cpu_s": children_cpu() - cpu, "load_before": before, "load_after": load_1min()}


def run_python(model: str, structure: str) -> dict[str, float]:
    """One fresh interpreter timing ``import stn_plugin``, ``stn_plugin.load`` and the first prediction."""
    before = load_1min()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PYTHON_LOAD, model, structure], check=True, capture_output=True, text=True, cwd=ROOT
    )
    times = json.loads(done.stdout.splitlines()[-1])
    return {**times, "process_s": time.perf_counter() - start, "load_before": before, "load_after": load_1min()}


def import_breakdown(model: str, structure: str, top: int) -> tuple[list[dict[str, object]], float]:
    """Import time of the CLI command by top-level package, largest ``top`` first, and the total import time.

    Per package: ``own_s``, the time of its own modules (torch's are torch's whoever imports them), and
    ``via_stn_plugin_s``, the time of the imports this package's code (or the command runner) makes of it, with
    everything they pull in (e.g. Lightning under matgl); seconds.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *cli_command(model, structure)[1:]],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    rows = []  # (own us, cumulative us, depth, top-level package), children before their parent
    for line in done.stderr.splitlines():
        if match := IMPORT_LINE.match(line):
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4].split(".")[0]))
    own: collections.Counter[str] = collections.Counter()
    direct: collections.Counter[str] = collections.Counter()
    for k, (self_us, cumulative_us, depth, package) in enumerate(rows):
        own[package] += self_us / 1e6
        parent = next((row[3] for row in rows[k + 1 :] if row[2] < depth), None)
        if package != "stn_plugin" and parent in (None, "stn_plugin"):
            direct[package] += cumulative_us / 1e6
    total = sum(own.values())
    table = [
        {"package": name, "own_s": seconds, "own_share": seconds / total, "via_stn_plugin_s": direct.get(name, 0.0)}
        for name, seconds in own.most_common(top)
    ]
    return table, total


def summary(runs: list[dict[str, float]], keys: tuple[str, ...]) -> dict[str, float]:
    """Median and minimum of each of ``keys`` over ``runs``, and the load average range."""
    out: dict[str, float] = {}
    for key in keys:
        values = [run[key] for run in runs]
        out[f"{key} median"], out[f"{key} min"] = statistics.median(values), min(values)
    loads = [run[key] for run in runs for key in ("load_before", "load_after")]
    out["load min"], out["load max"] = min(loads), max(loads)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023", help="registry name or model folder")
    parser.add_argument("--structure", default="examples/structures/Si.cif", help="the one crystal")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top", type=int, default=12, help="packages in the import table")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR / "first_prediction.json")
    args = parser.parse_args()

    machine = machine_info()
    print(f"load average before: {machine['load_average']} on {machine['logical_cores']} logical cores")
    cli = [run_cli(args.model, args.structure) for _ in range(args.repeats)]
    python = [run_python(args.model, args.structure) for _ in range(args.repeats)]
    imports, import_total = import_breakdown(args.model, args.structure, args.top)

    print(f"\n`stn models predict {args.model} {args.structure}`, fresh process, {args.repeats} runs (s):")
    print_table(cli, ["cli_s", "cli_cpu_s", "load_before", "load_after"])
    print("\nPython: import stn_plugin, load, first predict_structure, second load; fresh process per run (s):")
    columns = ["import_s", "load_s", "first_prediction_s", "second_load_s", "process_s"]
    cpu_columns = ["import_cpu_s", "load_cpu_s", "first_prediction_cpu_s", "second_load_cpu_s"]
    print_table(python, [*columns, *cpu_columns, "load_before", "load_after"])
    print(f"\nImport time of the CLI command by package (own modules; {import_total:.2f} s in all):")
    print_table(imports)
    cli_summary = summary(cli, ("cli_s", "cli_cpu_s"))
    python_summary = summary(python, (*columns, *cpu_columns))
    loads = (
        min(cli_summary["load min"], python_summary["load min"]),
        max(cli_summary["load max"], python_summary["load max"]),
    )
    print(
        f"\nCLI, one crystal: {cli_summary['cli_s median']:.2f} s wall, {cli_summary['cli_cpu_s median']:.2f} s CPU "
        f"(medians); Python stn_plugin.load after import stn_plugin: {python_summary['load_s median']:.2f} s wall, "
        f"{python_summary['load_cpu_s median']:.2f} s CPU; load average {loads[0]:.2f}-{loads[1]:.2f}"
    )
    machine_after = machine_info()
    write_json(
        args.output,
        {
            "model": args.model,
            "structure": args.structure,
            "cli_runs": cli,
            "python_runs": python,
            "cli": cli_summary,
            "python": python_summary,
            "imports_by_package": imports,
            "import_total_s": import_total,
            "machine": machine,
            "load_average_after": machine_after["load_average"],
        },
    )


if __name__ == "__main__":
    main()
