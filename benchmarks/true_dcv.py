"""Is the DCV classifier what limits a StrainTensorNet? Metrics with its own DCV against the true (spglib) DCV.

The regressor of StrainTensorNet reads the DCV its classifier predicts. This feeds it the true DCV of each
strained graph instead (``model(batch, dcv_input=batch.dcv)``, as during teacher forcing) and compares the raw
(unsymmetrized) metrics on a part of the bundled split. A large gain would mean the classifier is the
bottleneck.

Usage (from the repository root)::

    python -m benchmarks.true_dcv stn-mp-2023 --part val
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

import stn_plugin
from stn_plugin.evaluation import evaluate
from stn_plugin.graph import DEFAULT_CACHE_DIR
from stn_plugin.models import StnModel, StnOutput
from stn_plugin.training.config import load_preset
from stn_plugin.training.data import StnDataModule, prepare_data
from stn_plugin.training.train import evaluation_data


class TrueDcvModel(nn.Module):
    """``model`` with the true DCV of every graph fed to its regressor."""

    def __init__(self, model: StnModel) -> None:
        super().__init__()
        self.model = model
        self.strain = model.strain

    def forward(self, batch: Batch) -> StnOutput:
        return self.model(batch, batch.dcv)

    def denormalize_sed(self, sed_normalized: Tensor) -> Tensor:
        return self.model.denormalize_sed(sed_normalized)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="pretrained name or saved model directory (a StrainTensorNet)")
    parser.add_argument("--part", choices=["val", "test"], default="val")
    parser.add_argument("--split-seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = stn_plugin.load(args.model)
    data = StnDataModule(
        prepare_data(None, split_seed=args.split_seed),
        model.config.encoder,
        load_preset("cpu").training,
        cache_dir=DEFAULT_CACHE_DIR,
    )
    data.setup()
    for label, predictor in (("own (classifier) DCV", model), ("true (spglib) DCV", TrueDcvModel(model))):
        o = evaluate(evaluation_data(predictor, data.materials[args.part], 21)).overall
        print(
            f"{label:22s} U {o.sed_mae_mev:.3f} meV/atom, C_ij {o.cij_mae_gpa:.2f}, B_V {o.bulk_voigt_mae_gpa:.2f}, "
            f"G_V {o.shear_voigt_mae_gpa:.2f} GPa (MAE, raw, {args.part} split)"
        )


if __name__ == "__main__":
    main()
