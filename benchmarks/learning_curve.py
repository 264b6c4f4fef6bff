"""Learning curve: train on 25 / 50 / 100 % of the training split, same validation crystals, and compare.

    python -m benchmarks.learning_curve --config configs/default.yaml --fractions 0.25 0.5 1.0 --max-epochs 40
    python -m benchmarks.learning_curve --dataset mp-all --fractions 0.125 0.25 --parallel 2

Each fraction is a seeded, nested subset of every source's training part (``prepare_data(train_fraction=...)``);
validation and test parts are the full ones. A fraction f has f times the optimisation steps per epoch, so the
weight EMA's decay per step becomes ``decay ** (1 / f)``: the same averaging horizon in epochs (at 25 % and the
decay of 1.0, the averaged weights stay close to the initial ones for the whole run). Prints, per fraction, the
number of training materials and the best validation MAE of C_ij, B_V, G_V (tensor crystals), K_VRH, G_VRH
(moduli-only binaries) and log10(C33/C11) (uniaxial crystals), the C_ij MAE on a sample of the fraction's own
training crystals, the wall time, machine and load average; runs go to ``runs/learning-curve/<fraction>`` (resumable) and MLflow
experiment ``learning-curve``. The slope between fractions says whether more data or more capacity is the
next lever. One thread per run (``--threads``); ``--parallel 2`` trains two fractions at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

KEYS: tuple[tuple[str, str], ...] = (
    ("cij_mae_gpa", "C_ij"),
    ("bulk_voigt_mae_gpa", "B_V"),
    ("shear_voigt_mae_gpa", "G_V"),
    ("mp2025_binary/bulk_vrh_mae_gpa", "binaries K_VRH"),
    ("mp2025_binary/shear_vrh_mae_gpa", "binaries G_VRH"),
    ("log_c33_c11_mae", "log10(C33/C11)"),
    ("train/cij_mae_gpa", "train C_ij"),
)
"""Keys of :meth:`stn_plugin.evaluation.records.RecordsEvaluation.flat` in the table (``train/`` on a training sample)."""

TRAIN_SAMPLE: int = 500
"""Tensor crystals of the training part (a seeded sample) scored next to validation: the gap says under- or
overfitting."""


def run_fraction(
    config: str,
    fraction: float,
    max_epochs: int,
    threads: int,
    output: Path,
    seed: int | None = None,
    dataset: str = "bundled",
) -> dict[str, float]:
    """Train one fraction; the validation metrics of its best model (through the predictor, as
    ``benchmarks.split_evaluation``), the number of training tensors and the wall time."""
    import torch

    import stn_plugin
    from stn_plugin.data.records import BUNDLED_DATASETS
    from stn_plugin.evaluation.records import evaluate_records
    from stn_plugin.training import prepare_data, resolve_config, train

    torch.set_num_threads(threads)
    experiment = resolve_config("strain-tensor-net", config)
    if experiment.training.ema_decay is not None:
        decay = experiment.training.ema_decay ** (1.0 / fraction)
        experiment = experiment.model_copy(
            update={"training": experiment.training.model_copy(update={"ema_decay": decay})}
        )
    start = time.perf_counter()
    result = train(
        config=experiment,
        max_epochs=max_epochs,
        seed=seed,
        dataset=dataset,
        output_dir=output / f"{fraction:g}",
        run_name=f"learning-curve-{fraction:g}",
        experiment="learning-curve",
        train_fraction=fraction,
    )
    wall = time.perf_counter() - start
    prepared = prepare_data(sources=BUNDLED_DATASETS[dataset], train_fraction=fraction)
    model = stn_plugin.load(result.model_dir)
    metrics = evaluate_records(model, prepared.part("val"), progress=False).flat()
    train_tensors = [r for r in prepared.part("train") if r.has_tensor]
    sample = random.Random(0).sample(train_tensors, min(TRAIN_SAMPLE, len(train_tensors)))
    metrics["train/cij_mae_gpa"] = evaluate_records(model, sample, progress=False).flat()["cij_mae_gpa"]
    return {**metrics, "n_train": float(result.counts["train"]), "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the config's)")
    parser.add_argument("--dataset", default="bundled", help="bundled data: bundled or mp-all (four sources)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=1, help="fractions trained at the same time")
    parser.add_argument("--output", type=Path, default=Path("runs/learning-curve"))
    args = parser.parse_args()

    with ProcessPoolExecutor(max_workers=args.parallel) as pool:
        jobs = {
            f: pool.submit(
                run_fraction, args.config, f, args.max_epochs, args.threads, args.output, args.seed, args.dataset
            )
            for f in args.fractions
        }
        results = {f: job.result() for f, job in jobs.items()}
    print(
        f"{args.config}, {args.dataset} data, seed {args.seed}, {args.max_epochs} epochs; {platform.node()}, {os.cpu_count()} cores, {args.threads} "
        f"thread(s) x {args.parallel} run(s), load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("\n| train fraction | train tensors | " + " | ".join(label for _, label in KEYS) + " | wall (min) |")
    print("|---|---|" + "---|" * len(KEYS) + "---|")
    for fraction, metrics in results.items():
        values = " | ".join(f"{metrics.get(key, float('nan')):.1f}" for key, _ in KEYS)
        print(f"| {fraction:g} | {metrics['n_train']:.0f} | {values} | {metrics['wall_s'] / 60:.0f} |")
    (args.output / "learning_curve.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
