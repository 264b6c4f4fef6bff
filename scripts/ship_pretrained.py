"""Build the bundled models from the run folders of the recipe: files, model cards, registry entries.

The recipe (``configs/default.yaml``, the ``cpu`` preset) trained once per seed on the four bundled sources::

    stn models train strain-tensor-net --config configs/default.yaml --dataset mp-all --seed 0 --output runs/mp-all-seed0
    stn models train strain-tensor-net --config configs/default.yaml --dataset mp-all --seed 1 --output runs/mp-all-seed1
    python scripts/ship_pretrained.py --dataset mp-all runs/mp-all-seed0 runs/mp-all-seed1

gives ``stn-mp-2023`` (the committee of every run's network: U = their mean; the spread of its networks is the
uncertainty a prediction carries) and ``stn-mp-2023-fast`` (the first run's network alone). Every run must have
finished (``result.json``), with the recipe's configuration (the seed aside) and the bundled data's split
(``prepare_data(split_seed=...)``). Each network is evaluated on the validation part and each model on the test
part of that split exactly as ``stn models evaluate`` does on the shipped files; each model is saved into
``stn_plugin/pretrained/<name>/`` with a model card (``README.md``: networks, sources, counts, split seed,
licences, citations, validation and test metrics) and a registry entry (files' sha256, training data, test metrics).

``python scripts/ship_pretrained.py --bundled`` writes the bundled networks again the same way (files in the
current format, cards, registry entries) without retraining them: the networks of the bundled ``stn-mp-2023``,
its first network as ``stn-mp-2023-fast``.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import torch
import yaml

import stn_plugin
from stn_plugin.data.loaders import (
    BINARY2025_PROVENANCE,
    DEJONG2015_PROVENANCE,
    ELATBOT2023_PROVENANCE,
    MP2026_PROVENANCE,
)
from stn_plugin.data.records import BUNDLED_DATASETS, DEJONG2015, MP2023_ELATBOT, MP2025_BINARY, MP2026, Provenance
from stn_plugin.evaluation.records import SUMMARY_ROWS, evaluate_records
from stn_plugin.predictor import ElasticPredictor, load_model_dir, save_model_dir
from stn_plugin.registry import sha256_of
from stn_plugin.training import prepare_data
from stn_plugin.training.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "default.yaml"
DEFAULT_NAME, FAST_NAME = "stn-mp-2023", "stn-mp-2023-fast"
REGISTRY_HEADER = (
    "# stn-plugin registry: the source of truth for architectures and pretrained models.\n"
    "# Shipped inside the wheel as stn_plugin/registry.yaml (a symlink to this file).\n"
    "# Pretrained entries are written by scripts/ship_pretrained.py.\n"
)
PROVENANCE: dict[str, Provenance] = {
    DEJONG2015: DEJONG2015_PROVENANCE,
    MP2023_ELATBOT: ELATBOT2023_PROVENANCE,
    MP2025_BINARY: BINARY2025_PROVENANCE,
    MP2026: MP2026_PROVENANCE,
}
"""Provenance of each bundled source (what the card cites)."""
USE: dict[str, str] = {
    DEFAULT_NAME: "The default. Its predictions carry the spread of its networks (`elastic_tensor_std`, `moduli_std`).",
    FAST_NAME: "For screening where speed matters most: half the forward passes of `stn-mp-2023`, no spread.",
}
USE_WHEN: dict[str, str] = {DEFAULT_NAME: "default; spread = uncertainty", FAST_NAME: "speed matters most; no spread"}
"""The few words of `stn models list` saying when to choose each model."""


def check_run(run: Path, recipe: ExperimentConfig, split: dict, dataset: str) -> None:
    """SystemExit naming what differs unless ``run`` is a finished run of the recipe on ``split`` of ``dataset``."""
    if not (run / "result.json").is_file():
        raise SystemExit(f"{run} has no result.json: the training did not finish (run its command again to resume).")
    config = ExperimentConfig.from_yaml(run / "config.yaml")
    seed = config.training.seed
    expected = recipe.model_copy(update={"training": recipe.training.model_copy(update={"seed": seed})})
    if config.model_copy(update={"name": recipe.name}) != expected:
        raise SystemExit(f"{run} was not trained with {RECIPE.relative_to(ROOT)} (seed aside).")
    if json.loads((run / "split.json").read_text()) != split:
        raise SystemExit(f"{run} was trained on another split than the {dataset} data's.")


def metrics_table(columns: dict[str, dict[str, float]]) -> str:
    """Markdown table: one row per ``SUMMARY_ROWS`` metric that some model has, one column per model."""
    lines = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for key, label in SUMMARY_ROWS:
        if not any(key in c for c in columns.values()):
            continue
        cells = ["-" if key not in c else f"{c[key]:.3g}" for c in columns.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def network_description(model: ElasticPredictor, run: Path | None) -> str:
    """What a network is: its run and settings (the recipe, or how it differs), best epoch."""
    (network,) = model.networks
    recipe = ExperimentConfig.from_yaml(RECIPE).model
    if network.config == recipe:
        settings = "the settings of `configs/default.yaml`"
    else:
        changes = {
            key: value for key, value in network.config.model_dump().items() if value != recipe.model_dump()[key]
        }
        settings = f"`configs/default.yaml` with {', '.join(f'{k}: {v}' for k, v in changes.items())}"
    if run is None:
        return f"{settings}, trained on the DFT tensors and teacher-labelled binaries (`stn data distill`)"
    result = json.loads((run / "result.json").read_text())
    seed = ExperimentConfig.from_yaml(run / "config.yaml").training.seed
    return f"`{run}` ({settings}, seed {seed}; best epoch {result['best_epoch']} of {result['epochs_trained']})"


def card(
    name: str,
    networks: list[str],
    prepared,
    dataset: str,
    validation: dict[str, dict],
    columns: dict,
    refused: list,
) -> str:
    """The model card of ``name`` (its networks described by ``networks``)."""
    counts = prepared.counts_by_source()
    test = prepared.part("test")
    what = (
        "One StrainTensorNet"
        if len(networks) == 1
        else f"A committee of {len(networks)} StrainTensorNets (U = their mean)"
    )
    source_lines = "\n".join(
        f"  * `{source}`: {PROVENANCE[source].source}; {part['train']} train / {part['val']} val / {part['test']} "
        f"test; licence {PROVENANCE[source].licence}; cite {PROVENANCE[source].citation}."
        for source, part in counts.items()
    )
    n_tensors = sum(record.has_tensor for record in prepared.part("train"))
    network_lines = "\n".join(f"  {k}. {text}." for k, text in enumerate(networks, start=1))
    return f"""# {name}

{what} (Pakornchote et al., Phys. Rev. Research 5, 043198 (2023), Fig. 3, with the energy terms of `docs/model.md`
that its networks' settings switch on, not in the paper). {USE[name]}

* **Networks**:
{network_lines}
* **Training data**: the {len(counts)} bundled Materials Project sources of `--dataset {dataset}` after the default
  filters and the cross-source de-duplication (`stn data prepare --dataset {dataset}` prints both reports), one split
  (seed {prepared.split.seed}, stratified by source and crystal system). Tensor records train on Eq. 9. About
  {round(n_tensors, -2):,} training tensors, against about 8,300 in the paper.
{source_lines}
* **Frame**: predictions are in the Cartesian frame of the structure you pass (`docs/conventions.md`).

## Validation metrics of each network (MAE, GPa)

`stn models evaluate` of each network on `prepared/val.jsonl`, the part the checkpoints were chosen on.

{metrics_table(validation)}

## Test-split metrics (MAE; test crystals never used in training or selection)

Reproduce with `stn data prepare --dataset {dataset} --output prepared --seed {prepared.split.seed}` then
`stn models evaluate {name} --data prepared/test.jsonl` (add `--no-symmetrize` for the raw column). "This model" is
what `predict_structure` returns by default: C from the 21 predicted U_ij (Eq. 3), projected onto the crystal's
point group (Neumann's principle). {len(test)} test records; refused and left out: {", ".join(refused) or "none"}.

{metrics_table(columns)}

Cite the paper and the sources above when you use this model.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "runs", type=Path, nargs="*", help="run folders of the recipe; the first is also the fast model"
    )
    parser.add_argument("--bundled", action="store_true", help="write the bundled networks again, not trained runs")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--dataset", choices=sorted(BUNDLED_DATASETS), default="bundled", help="the runs' data")
    args = parser.parse_args()
    if bool(args.runs) == args.bundled:
        parser.error("give run folders or --bundled.")
    torch.set_num_threads(1)

    prepared = prepare_data(split_seed=args.split_seed, sources=BUNDLED_DATASETS[args.dataset])
    if args.bundled:
        bundled = stn_plugin.load(DEFAULT_NAME)
        singles = [
            ElasticPredictor.from_networks([network], [statistics], strain=bundled.strain)
            for network, statistics in zip(bundled.networks, bundled.statistics, strict=True)
        ]
        runs: list[Path | None] = [None] * len(singles)
    else:
        split = json.loads(prepared.split.model_dump_json())
        recipe = ExperimentConfig.from_yaml(RECIPE)
        for run in args.runs:
            check_run(run, recipe, split, args.dataset)
        singles = [load_model_dir(run / "model") for run in args.runs]
        runs = list(args.runs)
    descriptions = [network_description(single, run) for single, run in zip(singles, runs, strict=True)]
    validation = {
        f"network {k}": evaluate_records(single, prepared.part("val"), progress=False).flat()
        for k, single in enumerate(singles, start=1)
    }
    models = {
        DEFAULT_NAME: (ElasticPredictor.committee(singles), descriptions),
        FAST_NAME: (singles[0], descriptions[:1]),
    }
    test = prepared.part("test")
    registry_path = ROOT / "registry.yaml"
    registry = yaml.safe_load(registry_path.read_text())
    shipped_before = registry.get("pretrained") or {}
    registry["pretrained"] = {}
    for name, (model, networks) in models.items():
        target = ROOT / "stn_plugin" / "pretrained" / name
        target.mkdir(parents=True, exist_ok=True)
        for old in target.iterdir():
            old.unlink()
        save_model_dir(model, target)
        shipped = stn_plugin.load(target)
        evaluations = {
            "this model": evaluate_records(shipped, test),
            "raw output (--no-symmetrize)": evaluate_records(shipped, test, symmetrize=False),
        }
        columns = {column: evaluation.flat() for column, evaluation in evaluations.items()}
        refused = sorted({f.record.material_id for e in evaluations.values() for f in e.failures})
        own_validation = {key: validation[key] for key in list(validation)[: len(networks)]}
        text = card(name, networks, prepared, args.dataset, own_validation, columns, refused)
        (target / "README.md").write_text(text)
        overall = columns["this model"]
        what = "One StrainTensorNet" if len(networks) == 1 else f"A committee of {len(networks)} StrainTensorNets"
        registry["pretrained"][name] = {
            "architecture": "strain-tensor-net",
            "directory": name,
            "files": {p.name: sha256_of(p) for p in sorted(target.iterdir())},
            "description": f"{what}. {USE[name]}",
            "members": len(networks),
            "use_when": USE_WHEN[name],
            # measured apart (benchmarks/prediction_throughput.py); the recipe's networks cost the same to run
            "ms_per_crystal": shipped_before.get(name, {}).get("ms_per_crystal"),
            "training_data": {
                "sources": {
                    source: {
                        "counts": part,
                        "licence": PROVENANCE[source].licence,
                        "citation": PROVENANCE[source].citation,
                    }
                    for source, part in prepared.counts_by_source().items()
                },
                "dataset": args.dataset,
                "split_seed": prepared.split.seed,
            },
            "test_metrics": {
                "units": "GPa except log10(C33/C11) and A_U (dimensionless)",
                "n_records": len(test),
                **{key: round(overall[key], 3) for key, _ in SUMMARY_ROWS if key in overall},
            },
            "data_licence": "CC BY 4.0",
            "date": datetime.date.today().isoformat(),
        }
        print(text)
    registry_path.write_text(REGISTRY_HEADER + "\n" + yaml.safe_dump(registry, sort_keys=False))


if __name__ == "__main__":
    main()
