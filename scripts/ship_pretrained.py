"""Bundle finished training runs as a pretrained model: files, model card, registry entry.

Saves ``<run>/model`` (matgl format; with several runs of one split, their :class:`StnEnsemble`) into
``stn_plugin/pretrained/<name>/``, writes the model card (``README.md``) from the test split evaluated
exactly as ``stn models evaluate`` does on the shipped files (predictions projected onto each crystal's
point group, the default), the raw network output (``--no-symmetrize``) and the baselines on the same test
split, and records the files' sha256, the training data and the test metrics in ``registry.yaml``.

Usage (from the repository root)::

    python scripts/ship_pretrained.py runs/stn-mp-2023 --name stn-mp-2023 --baseline-run runs/fig6a
    python scripts/ship_pretrained.py runs/seed0 runs/seed1 runs/seed2 --name stn-mp-2023 \
        --baseline-run runs/fig6a --vector-zero-threshold 1e-4 --note-file configs/stn-mp-2023-card-note.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

import stn_plugin
from stn_plugin.data import ElasticRecord, filter_records, load_bundled_dataset
from stn_plugin.data.splits import load_split
from stn_plugin.evaluation import EvaluationData, evaluate
from stn_plugin.evaluation.baselines import mean_tensor_baseline_data
from stn_plugin.evaluation.metrics import TABLE_II_ROWS
from stn_plugin.models import StnEnsemble, StnModel
from stn_plugin.models.loading import load_model_dir
from stn_plugin.registry import sha256_of

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_HEADER = (
    "# stn-plugin registry: the source of truth for architectures and pretrained models.\n"
    "# Shipped inside the wheel as stn_plugin/registry.yaml (a symlink to this file).\n"
    "# Pretrained entries are written by scripts/ship_pretrained.py.\n"
)


def split_records(split_path: Path) -> tuple[list[ElasticRecord], list[ElasticRecord]]:
    """The filtered bundled records of the run's train and test parts."""
    records, _ = filter_records(load_bundled_dataset())
    by_id = {r.material_id: r for r in records}
    split = load_split(split_path)
    return [by_id[i] for i in split.train], [by_id[i] for i in split.test]


def predictor_metrics(model_dir: Path, test: list[ElasticRecord], symmetrize: bool = True) -> dict[str, Any]:
    """Table II metrics of a saved model's predictions, exactly as ``stn models evaluate [--no-symmetrize]``."""
    predictions = stn_plugin.load(model_dir).predict_structures([r.structure for r in test], symmetrize=symmetrize)
    return evaluate(EvaluationData.from_predictions(test, predictions)).overall.model_dump()


def metrics_table(columns: dict[str, dict[str, Any]]) -> str:
    """Markdown table: one row per Table II property, MAE (RMSE) per column."""
    names = list(columns)
    lines = ["| property | mean (truth) | " + " | ".join(f"{n} MAE (RMSE)" for n in names) + " |"]
    lines.append("|---" * (len(names) + 2) + "|")
    first = columns[names[0]]
    for key, unit, label in TABLE_II_ROWS:
        cells = [f"{c[f'{key}_mae{unit}']:.3g} ({c[f'{key}_rmse{unit}']:.3g})" for c in columns.values()]
        lines.append(f"| {label} | {first[f'{key}_mean{unit}']:.3g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def shipped_model(runs: list[Path], threshold: float | None) -> StnModel:
    """The model of one run, or the ensemble of several runs of one split, with the zero-vector threshold set."""
    models = [load_model_dir(run / "model") for run in runs]
    if threshold is not None:
        models = [model.with_vector_zero_threshold(threshold) for model in models]
    return models[0] if len(models) == 1 else StnEnsemble.from_models(models)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="output folder(s) of `stn models train`, one split")
    parser.add_argument("--name", required=True)
    parser.add_argument("--baseline-run", type=Path, help="a Fig. 6(a) run on the same split")
    parser.add_argument(
        "--vector-zero-threshold", type=float, help="set the encoder's zero-vector threshold (prediction only)"
    )
    parser.add_argument(
        "--note-file", type=Path, help="a markdown paragraph for the card: how the run(s) were chosen, configs"
    )
    args = parser.parse_args()

    results = [json.loads((run / "result.json").read_text()) for run in args.runs]
    splits = [json.loads((run / "split.json").read_text()) for run in args.runs]
    if any(split != splits[0] for split in splits):
        raise SystemExit("the runs were trained on different splits; an ensemble needs one split.")
    split = splits[0]
    configs = [yaml.safe_load((run / "config.yaml").read_text()) for run in args.runs]
    train_records, test_records = split_records(args.runs[0] / "split.json")

    target = ROOT / "stn_plugin" / "pretrained" / args.name
    shutil.rmtree(target, ignore_errors=True)
    shipped_model(args.runs, args.vector_zero_threshold).save(target)
    columns = {
        "this model": predictor_metrics(target, test_records),
        "raw output (--no-symmetrize)": predictor_metrics(target, test_records, symmetrize=False),
        "mean tensor per system": evaluate(mean_tensor_baseline_data(train_records, test_records)).overall.model_dump(),
    }
    if args.baseline_run:
        columns["Fig. 6(a), no DCV"] = predictor_metrics(args.baseline_run / "model", test_records)

    baseline_note = (
        "The Fig. 6(a) column is evaluated the same way."
        if args.baseline_run
        else "The Fig. 6(a) baseline (the network without the DCV branch) is in `docs/RESULTS.md`."
    )
    counts = {part: len(split[part]) for part in ("train", "val", "test")}
    date = datetime.date.today().isoformat()
    members = "; ".join(
        f"`{c['name']}` seed {c['training']['seed']}, best epoch {r['best_epoch']} of {r['epochs_trained']}"
        for c, r in zip(configs, results, strict=True)
    )
    what = (
        "StrainTensorNet"
        if len(args.runs) == 1
        else f"An ensemble (committee; `StnEnsemble`, U_ij = mean of the members') of {len(args.runs)} StrainTensorNets"
    )
    card = f"""# {args.name}

{what} (Pakornchote et al., Phys. Rev. Research 5, 043198 (2023), Fig. 3) trained by `stn models train` on
this machine class (2-core CPU, no GPU); {"members: " if len(args.runs) > 1 else ""}{members}.
{f"{chr(10)}{args.note_file.read_text().strip()}{chr(10)}" if args.note_file else ""}
* **Training data**: the de Jong et al. (2015) Materials Project elastic-constant survey bundled with
  the package (1004 crystals, CC BY 4.0), after the default filters; split seed {split["seed"]},
  stratified by crystal system: {counts["train"]} train / {counts["val"]} val (model selection) /
  {counts["test"]} test (never seen in training or selection).
* **Frame**: predictions are in the Cartesian frame of the structure you pass.
* **Scope**: ordered inorganic crystals similar to the training set (1-116 atoms per cell in the data,
  elements of the data). Far fewer materials than the paper (about 8,300): expect larger errors, in
  particular for low-symmetry and very stiff crystals.

## Test-split metrics (MAE, RMSE in parentheses)

Reproduce with `stn data prepare --output prepared --seed {split["seed"]}` then
`stn models evaluate {args.name} --data prepared/test.jsonl` (add `--no-symmetrize` for the raw column).
"This model" is what `predict_structure` returns by default: the 21 predicted U_ij give C (Eq. 3),
which is projected onto the crystal's point group (Neumann's principle); the projection lowers the
C_ij error and leaves the Voigt averages unchanged. {baseline_note}

{metrics_table(columns)}

## Retrain on newer Materials Project data

```bash
stn data fetch-mp --api-key $MP_API_KEY --output mp.jsonl
stn models train strain-tensor-net --preset cpu --data mp.jsonl --register-as my-stn
```

Cite the paper, Materials Project (Jain et al., APL Mater. 1, 011002 (2013)) and de Jong et al.,
Sci. Data 2, 150009 (2015) when you use this model.
"""
    (target / "README.md").write_text(card)

    registry_path = ROOT / "registry.yaml"
    registry = yaml.safe_load(registry_path.read_text())
    overall = columns["this model"]
    registry.setdefault("pretrained", {})[args.name] = {
        "architecture": "strain-tensor-net",
        "directory": args.name,
        "files": {p.name: sha256_of(p) for p in sorted(target.iterdir())},
        "description": f"{what}, trained on the bundled de Jong 2015 MP data ({members}).",
        "training_data": {
            "source": "de Jong et al. 2015 Materials Project elastic survey (bundled)",
            "counts": counts,
            "split_seed": split["seed"],
        },
        "test_metrics": {
            "units": "GPa except sed (meV/atom) and poisson (dimensionless)",
            "n_materials": overall["n_materials"],
            **{f"{k}_mae{u}": round(overall[f"{k}_mae{u}"], 3) for k, u, _ in TABLE_II_ROWS},
        },
        "data_licence": "CC BY 4.0",
        "date": date,
    }
    registry_path.write_text(REGISTRY_HEADER + "\n" + yaml.safe_dump(registry, sort_keys=False))
    print(card)


if __name__ == "__main__":
    main()
