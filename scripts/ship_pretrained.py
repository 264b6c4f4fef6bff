"""Bundle finished training runs as a pretrained model: files, model card, registry entry.

Saves ``<run>/model`` (matgl format; with several runs of one split, their :class:`StnEnsemble`) into
``stn_plugin/pretrained/<name>/``, evaluates the test part of the bundled combined split (all sources, the
split every run was trained on: ``prepare_data(split_seed=...)``) exactly as ``stn models evaluate`` does on
the shipped files (predictions projected onto each crystal's point group, the default), also the raw network
output (``--no-symmetrize``) and the ``--compare`` models on the same records, and writes the model card
(``README.md``: sources, counts, split seed, dates, licences, citations, per-source test metrics) and the
registry entry (files' sha256, training data, test metrics).

Usage (from the repository root)::

    python scripts/ship_pretrained.py runs/bavA-seed0 runs/bondA1-shipped --name stn-mp-2023 \
        --vector-zero-threshold 1e-4 --distillation-report runs/anchored/distillation_report.json \
        --teacher-name stn-mp-2023-dft-committee --compare stn-mp-2023-fast --note-file configs/stn-mp-2023-card-note.md
    python scripts/ship_pretrained.py runs/bavA-seed0 --name stn-mp-2023-fast --vector-zero-threshold 1e-4 \
        --distillation-report runs/anchored/distillation_report.json --teacher-name stn-mp-2023-dft-committee \
        --compare stn-mp-2023 --note-file configs/stn-mp-2023-fast-card-note.md

``runs/anchored/distilled.jsonl`` is ``stn data distill --anchor-moduli --output runs/anchored/distilled.jsonl
--teacher /tmp/teacher/stn_plugin/pretrained/stn-mp-2023-dft-committee``, the teacher no longer bundled but kept in
the history (``git archive 5760468 stn_plugin/pretrained/stn-mp-2023-dft-committee | tar -x -C /tmp/teacher``).
``runs/bavA-seedN`` is ``stn models train strain-tensor-net --config configs/bond-angle-volume.yaml --seed N --data
runs/anchored/distilled.jsonl --output runs/bavA-seedN``. ``runs/bondA1-shipped`` holds the member
``configs/bond.yaml`` seed 1 on the same data: ``member.save(...)`` of member 3 of ``stn_plugin.load(...).members``
of the ``stn-mp-2023-committee`` folder of commit a884405 (``git archive a884405
stn_plugin/pretrained/stn-mp-2023-committee``) as ``model/``, with its config (``configs/bond.yaml``, seed 1), best
epoch 17 of 45, the counts and split of ``runs/bavA-seed0`` (same data) in ``result.json`` / ``split.json``; its
training run folder was not kept.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import torch
import yaml

import stn_plugin
from stn_plugin.data.loaders import BINARY2025_PROVENANCE, DEJONG2015_PROVENANCE, ELATBOT2023_PROVENANCE
from stn_plugin.data.records import DEJONG2015, MP2023_ELATBOT, MP2025_BINARY, Provenance
from stn_plugin.evaluation.records import SUMMARY_ROWS, evaluate_records
from stn_plugin.models import StnEnsemble, StnModel
from stn_plugin.predictor.loading import load_model_dir
from stn_plugin.registry import sha256_of
from stn_plugin.training import prepare_data
from stn_plugin.training.distillation import DistillationReport

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_HEADER = (
    "# stn-plugin registry: the source of truth for architectures and pretrained models.\n"
    "# Shipped inside the wheel as stn_plugin/registry.yaml (a symlink to this file).\n"
    "# Pretrained entries are written by scripts/ship_pretrained.py.\n"
)
PROVENANCE: dict[str, Provenance] = {
    DEJONG2015: DEJONG2015_PROVENANCE,
    MP2023_ELATBOT: ELATBOT2023_PROVENANCE,
    MP2025_BINARY: BINARY2025_PROVENANCE,
}
"""Provenance of each bundled source (what the card cites)."""


def run_config(run: Path) -> dict:
    """The experiment configuration a training run saved (``config.yaml``)."""
    return yaml.safe_load((run / "config.yaml").read_text())


def member_description(run: Path) -> str:
    """``name`` seed N, best epoch E of T (from ``result.json``, or the best checkpoint of a stopped run)."""
    config = run_config(run)
    model = config["model"]
    terms = [
        term
        for term, on in (
            ("the bond-strain energy, `bond_energy`", model.get("bond_energy")),
            ("first-shell springs, `bond_shell`", model.get("bond_shell")),
            ("bond bending, `bond_angles`", model.get("bond_angles")),
            ("the volume term, `volume_energy`", model.get("volume_energy")),
        )
        if on
    ]
    extras = f" (with {', '.join(terms)}; not in the paper)" if terms else ""
    label = f"`{config['name']}` seed {config['training']['seed']}{extras}"
    if (run / "result.json").exists():
        result = json.loads((run / "result.json").read_text())
        return f"{label}, best epoch {result['best_epoch']} of {result['epochs_trained']}"
    best = torch.load(run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    last = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return f"{label}, best epoch {best['epoch']} of {last['epoch'] + 1} (stopped by hand, best checkpoint exported)"


def trained_on_teacher_labels(run: Path, n_binaries: int) -> bool:
    """Whether the run trained on distilled data: fewer moduli-only training records than the split's binaries (the
    rest were labelled with tensors by ``stn data distill``); a run stopped by hand (no ``result.json``) did not."""
    result = run / "result.json"
    return result.exists() and json.loads(result.read_text())["counts"]["train_moduli_only"] < n_binaries


def shipped_model(runs: list[Path], threshold: float | None) -> StnModel:
    """The model of one run, or the ensemble of several runs of one split, with the zero-vector threshold set."""
    models = [load_model_dir(run / "model") for run in runs]
    if threshold is not None:
        models = [model.with_vector_zero_threshold(threshold) for model in models]
    # every run's split.json is checked against the split in main(); members may differ in statistics (a
    # distilled student trained on the same split with teacher labels for the moduli-only records)
    return models[0] if len(models) == 1 else StnEnsemble.from_models(models, check_statistics=False)


def metrics_table(columns: dict[str, dict[str, float]]) -> str:
    """Markdown table: one row per ``SUMMARY_ROWS`` metric, one column per model."""
    lines = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for key, label in SUMMARY_ROWS:
        cells = ["-" if key not in c else f"{c[key]:.3g}" for c in columns.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="output folder(s) of `stn models train`, one split")
    parser.add_argument("--name", required=True)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--compare", nargs="*", default=[], help="registry names evaluated on the same records")
    parser.add_argument(
        "--vector-zero-threshold", type=float, help="set the encoder's zero-vector threshold (prediction only)"
    )
    parser.add_argument("--note-file", type=Path, help="a markdown paragraph for the card: how the runs were chosen")
    parser.add_argument(
        "--distillation-report",
        type=Path,
        help="distillation_report.json of `stn data distill` when the runs trained on its labelled data",
    )
    parser.add_argument("--teacher-name", help="the name the card gives the distillation teacher, if not its report's")
    args = parser.parse_args()
    torch.set_num_threads(1)

    prepared = prepare_data(split_seed=args.split_seed)
    for run in args.runs:
        if (run / "split.json").exists() and json.loads((run / "split.json").read_text()) != json.loads(
            prepared.split.model_dump_json()
        ):
            raise SystemExit(f"{run} was trained on another split than prepare_data(split_seed={args.split_seed}).")
    test = prepared.part("test")

    target = ROOT / "stn_plugin" / "pretrained" / args.name
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        old.unlink()
    shipped_model(args.runs, args.vector_zero_threshold).save(target)
    evaluations = {
        "this model": evaluate_records(stn_plugin.load(target), test),
        "raw output (--no-symmetrize)": evaluate_records(stn_plugin.load(target), test, symmetrize=False),
        **{name: evaluate_records(stn_plugin.load(name), test) for name in args.compare},
    }
    columns = {name: evaluation.flat() for name, evaluation in evaluations.items()}
    refused = sorted({f.record.material_id for e in evaluations.values() for f in e.failures})

    counts = prepared.counts_by_source()
    date = datetime.date.today().isoformat()
    members = "; ".join(member_description(run) for run in args.runs)
    what = (
        "StrainTensorNet"
        if len(args.runs) == 1
        else f"An ensemble (committee; `StnEnsemble`, U_ij = mean of the members') of {len(args.runs)} StrainTensorNets"
    )
    n_tensors = sum(record.has_tensor for record in prepared.part("train"))
    weights = {run_config(run)["training"]["moduli_loss_weight"] for run in args.runs}
    moduli_term = (
        "but carry no loss in these runs (`moduli_loss_weight` 0)"
        if weights == {0.0}
        else f"and train on K_VRH and G_VRH (`moduli_loss_weight` {', '.join(f'{w:g}' for w in sorted(weights))})"
    )
    if args.distillation_report is not None:
        distilled = DistillationReport.model_validate_json(args.distillation_report.read_text())
        n_binaries = sum(not record.has_tensor for record in prepared.part("train"))
        anchored = " shifted isotropically onto each record's DFT K_VRH and G_VRH" if distilled.anchored else ""
        teacher = (
            f"`{args.teacher_name}` (named `{distilled.teacher}` then)"
            if args.teacher_name
            else f"`{distilled.teacher}`"
        )
        students = [member_description(run) for run in args.runs if trained_on_teacher_labels(run, n_binaries)]
        others = len(args.runs) - len(students)
        moduli_term = (
            f"and, for {'; '.join(students)}, {len(distilled.labelled)} of the {n_binaries} in the training part "
            f"were labelled with the tensors of {teacher}{anchored} (`stn data distill`) and trained on "
            "Eq. 9 like the DFT tensors (distillation)"
            + ("; for the other members they carry no loss" if others else "")
            + "; validation and test records are DFT only"
        )
    source_lines = "\n".join(
        f"  * `{source}`: {PROVENANCE[source].source}; {part['train']} train / {part['val']} val / {part['test']} "
        f"test; licence {PROVENANCE[source].licence}; cite {PROVENANCE[source].citation}."
        for source, part in counts.items()
    )
    card = f"""# {args.name}

{what} (Pakornchote et al., Phys. Rev. Research 5, 043198 (2023), Fig. 3) trained by `stn models train` on
a 2-core CPU (no GPU); {"members: " if len(args.runs) > 1 else ""}{members}. Shipped {date}.
{f"{chr(10)}{args.note_file.read_text().strip()}{chr(10)}" if args.note_file else ""}
* **Training data**: the three bundled Materials Project sources after the default filters and the
  cross-source de-duplication (`stn data prepare` prints both reports), one split (seed {prepared.split.seed},
  stratified by source and crystal system; the de Jong part is the split of the earlier models, so its test
  crystals are the old test split). Tensor records train on Eq. 9; moduli-only records (no tensor) are in
  the split {moduli_term}:
{source_lines}
* **Frame**: predictions are in the Cartesian frame of the structure you pass (docs/conventions.md).
* **Scope**: ordered inorganic crystals similar to the training set. About {round(n_tensors, -2):,} training tensors, against
  about 8,300 in the paper: expect larger errors for soft, layered and low-symmetry crystals.

## Test-split metrics (MAE; test crystals never used in training or selection)

Reproduce with `stn data prepare --output prepared --seed {prepared.split.seed}` then
`stn models evaluate {args.name} --data prepared/test.jsonl` (add `--no-symmetrize` for the raw column).
"This model" is what `predict_structure` returns by default: the 21 predicted U_ij give C (Eq. 3), which is
projected onto the crystal's point group (Neumann's principle). Moduli in GPa. {len(test)} test records;
refused by a model and left out of its column: {", ".join(refused) or "none"}.

{metrics_table(columns)}

## Retrain on newer Materials Project data

```bash
stn data fetch-mp --api-key $MP_API_KEY --output mp.jsonl
stn models train strain-tensor-net --preset cpu --data mp.jsonl --register-as my-stn
```

Cite the paper and the sources above when you use this model.
"""
    (target / "README.md").write_text(card)

    registry_path = ROOT / "registry.yaml"
    registry = yaml.safe_load(registry_path.read_text())
    overall = columns["this model"]
    registry.setdefault("pretrained", {})[args.name] = {
        "architecture": "strain-tensor-net",
        "directory": args.name,
        "files": {p.name: sha256_of(p) for p in sorted(target.iterdir())},
        "description": f"{what}, trained on the three bundled MP sources ({members}). Moduli-only records are in "
        f"the split {moduli_term}.",
        "training_data": {
            "sources": {
                source: {"counts": part, "licence": PROVENANCE[source].licence, "citation": PROVENANCE[source].citation}
                for source, part in counts.items()
            },
            "split_seed": prepared.split.seed,
        },
        "test_metrics": {
            "units": "GPa except log10(C33/C11) and A_U (dimensionless)",
            "n_records": len(test),
            **{key: round(overall[key], 3) for key, _ in SUMMARY_ROWS if key in overall},
        },
        "data_licence": "CC BY 4.0",
        "date": date,
    }
    registry_path.write_text(REGISTRY_HEADER + "\n" + yaml.safe_dump(registry, sort_keys=False))
    print(card)


if __name__ == "__main__":
    main()
