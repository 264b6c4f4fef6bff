"""Save the model of a training checkpoint (e.g. the best one of a run stopped before its last epoch) in matgl format.

    python scripts/export_checkpoint.py --config configs/default.yaml --checkpoint runs/default-seed0/checkpoints/best.ckpt \
        --output runs/default-seed0/model

The checkpoint's ``state_dict`` holds the predictor of one network: the weights validation saw (the averaged ones
with ``training.ema_decay``) and the normalisation statistics; the saved model is what ``stn models train`` writes to ``<run>/model`` when the run
finishes, so ``stn_plugin.load``, ``stn models evaluate`` and ``scripts/ship_pretrained.py`` take it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stn_plugin.predictor import ElasticPredictor
from stn_plugin.predictor.loading import safe_torch_load, save_model_dir
from stn_plugin.predictor.predictor import STATISTICS
from stn_plugin.training.config import ExperimentConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the run's experiment YAML")
    parser.add_argument("--checkpoint", type=Path, required=True, help="Lightning checkpoint (best.ckpt, last.ckpt)")
    parser.add_argument("--output", type=Path, required=True, help="model directory to write")
    args = parser.parse_args()
    config = ExperimentConfig.from_yaml(args.config)
    state = safe_torch_load(args.checkpoint, f"Train {args.config} again.")
    weights = {key.removeprefix("predictor."): value for key, value in state["state_dict"].items()}
    statistics = {name: weights[name][0].tolist() for name in STATISTICS}
    model = ElasticPredictor([config.model], [statistics])
    model.load_state_dict(weights)
    save_model_dir(model, args.output)  # matgl files plus the checksum manifest that load checks
    print(f"{args.checkpoint} (epoch {state['epoch']}) -> {args.output}")


if __name__ == "__main__":
    main()
