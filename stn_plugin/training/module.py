"""Lightning module of the StrainTensorNet family (mirrors matgl's ``ModelLightningModule``).

Loss (paper Eq. 9): ``L1(U_pred, U_true) + lambda_class * BCE(sigmoid(logits), DCV)`` on normalised U
(mean over the batch; BCE mean over the batch and the 21 entries). Models without a classifier (Fig. 6)
train on the L1 term alone and log NaN for the classifier metrics, so every run has the same keys.
With ``sed_loss_weighting="per_volume"`` each sample's L1 error is multiplied by ``<1/V> / V`` (V = volume
per atom of its material, ``<1/V>`` the training mean): the error then counts in strain energy per volume,
the unit C (GPa) is made of (Eq. 3: C = U / (V eps^2) up to constants), instead of per atom, where a
small-volume (stiff) crystal's GPa error shows up as a small meV/atom error.

Teacher forcing: during the first ``teacher_forcing_epochs`` TRAINING epochs the regression head gets
the true DCV (``batch.dcv``). Validation always uses the model's own DCV (the reference code also
teacher-forced validation, notes §7 D9, which lets an early epoch become the "best" checkpoint).

Metrics, logged once per epoch (keys are stable across architectures and configs):

========================== ===================================================================
``train/loss``              Eq. 9 on the training samples (dimensionless)
``train/sed_l1_mev``        mean |U_pred - U_true| of the training samples, meV/atom
``train/bce``               classifier BCE (NaN without a classifier)
``train/dcv_accuracy``      fraction of the 21 DCV entries right at probability 0.5 (NaN without one)
``train/lr``                learning rate at the end of the epoch
``train/moduli_l1_gpa``     mean (|K_VRH error| + |G_VRH error|) / 2 of the moduli-only training samples
``val/loss``, ``val/bce``,  as above, on all 21 strain states of every validation tensor material
``val/dcv_accuracy``,
``val/sed_mae_mev``
``val/<key>``               the scores of ``stn models evaluate`` on the validation records
                            (:func:`stn_plugin.evaluation.records.score_predictions`): the prediction users
                            get (:meth:`ElasticPredictor.predict_materials`, C projected onto the point group,
                            in the frame of each record's structure), e.g. ``val/cij_mae_gpa``,
                            ``val/bulk_voigt_mae_gpa``, ``val/<source>/bulk_vrh_mae_gpa``, ``val/log_c33_c11_mae``
========================== ===================================================================

The checkpoint monitored (``TrainingConfig.monitor``, ``val/cij_mae_gpa`` by default) is one of these, so the
validation C_ij MAE of the best checkpoint is what ``stn models evaluate`` prints for the saved model on the same
records.

Mixed supervision: with ``moduli_loss_weight > 0`` a training batch is ``{"tensor": ..., "moduli": ...}``
(:class:`~stn_plugin.training.data.StnDataModule`); the loss adds ``moduli_loss_weight`` times the mean
``(|dK| + |dG|) / moduli_loss_scale_gpa`` of the moduli-only materials (K_VRH, G_VRH from the predicted U of one
strain per structure class, :mod:`stn_plugin.training.moduli_loss`) and their classifier BCE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch

from stn_plugin.evaluation.records import RecordPrediction, RecordsEvaluation, score_predictions
from stn_plugin.models.base import StnOutput
from stn_plugin.physics.sed import sed_to_elastic
from stn_plugin.physics.voigt import N_PAIRS, from_upper_triangle
from stn_plugin.predictor import ElasticPredictor
from stn_plugin.training.config import TrainingConfig
from stn_plugin.training.data import MaterialGraphs
from stn_plugin.training.moduli_loss import expand_class_representatives, vrh_moduli


def evaluate_materials(predictor: ElasticPredictor, materials: Sequence[MaterialGraphs]) -> RecordsEvaluation:
    """The scores of ``stn models evaluate`` (:func:`~stn_plugin.evaluation.records.score_predictions`) of the
    prepared ``materials``, predicted as users get them (C projected onto the point group, records' frames)."""
    predictions = predictor.predict_materials([m.material for m in materials])
    return score_predictions([RecordPrediction(m.record, p) for m, p in zip(materials, predictions, strict=True)])


def _first_graphs(material_number: Tensor) -> Tensor:
    """(M,) index of the first graph of every material in a batch whose graphs are grouped by material."""
    starts = torch.ones_like(material_number, dtype=torch.bool)
    starts[1:] = material_number[1:] != material_number[:-1]
    return torch.nonzero(starts).squeeze(1)


class StnLightningModule(pl.LightningModule):
    """Trains the network of an :class:`~stn_plugin.predictor.ElasticPredictor` on batches of strained graphs.

    Batches follow the graph contract plus ``material_number`` (B,) (see :mod:`stn_plugin.training.data`).

    Args:
        predictor: a predictor of one network, with the normalisation statistics of the training split.
        training: training config (learning rate, schedule, lambda_class, teacher forcing, loss weighting).
        mean_inverse_volume: training mean of 1/V, 1/Angstrom^3; needed by the ``per_volume`` loss weighting.
    """

    def __init__(
        self,
        predictor: ElasticPredictor,
        training: TrainingConfig | Mapping[str, Any],
        mean_inverse_volume: float | None = None,
    ) -> None:
        super().__init__()
        if len(predictor.networks) != 1:
            raise ValueError(f"training updates one network, the predictor has {len(predictor.networks)}.")
        self.predictor = predictor
        self.config = TrainingConfig.model_validate(
            training.model_dump() if isinstance(training, TrainingConfig) else training
        )
        if mean_inverse_volume is None and self.config.sed_loss_weighting == "per_volume":
            raise ValueError("per_volume loss weighting needs mean_inverse_volume (StnDataModule.mean_inverse_volume).")
        if mean_inverse_volume is not None and mean_inverse_volume <= 0:
            raise ValueError(f"mean_inverse_volume must be positive, got {mean_inverse_volume}.")
        self.mean_inverse_volume = mean_inverse_volume
        self.save_hyperparameters(
            {"training": self.config.model_dump(mode="json"), "mean_inverse_volume": mean_inverse_volume}
        )
        self.validation_materials: list[MaterialGraphs] = []

    def set_validation_materials(self, materials: Sequence[MaterialGraphs]) -> None:
        """The validation materials (tensor and moduli-only) whose predictions give the ``val/<key>`` scores."""
        self.validation_materials = list(materials)

    def forward(self, batch: Batch, dcv_input: Tensor | None = None) -> StnOutput:
        """The network's normalised output on the graphs ``batch``."""
        return self.predictor.network_outputs(batch, dcv_input)[0]

    def _losses(self, batch: Batch, out: StnOutput) -> dict[str, Tensor]:
        """Eq. 9 and its parts for one batch."""
        errors = (out.sed_normalized - self.predictor.normalize_sed(batch.sed)).abs()
        metrics = {"sed_l1_mev": errors.mean() * self.predictor.sed_std[0]}
        if self.config.sed_loss_weighting == "per_volume":
            errors = errors / (batch.volume_per_atom.to(errors.dtype) * self.mean_inverse_volume)
        l1 = errors.mean()
        if out.dcv_logits is None:
            nan = torch.full((), float("nan"), device=l1.device)
            return {"loss": l1, **metrics, "bce": nan, "dcv_accuracy": nan}
        dcv = batch.dcv.to(out.dcv_logits.dtype)
        bce = F.binary_cross_entropy_with_logits(out.dcv_logits, dcv)
        accuracy = ((out.dcv_logits > 0) == (dcv > 0.5)).to(l1.dtype).mean()
        return {"loss": l1 + self.config.lambda_class * bce, **metrics, "bce": bce, "dcv_accuracy": accuracy}

    def _log_step(self, stage: str, losses: Mapping[str, Tensor], batch_size: int) -> None:
        names = {"sed_l1_mev": "sed_mae_mev"} if stage == "val" else {}
        self.log_dict(
            {f"{stage}/{names.get(key, key)}": value.detach() for key, value in losses.items()},
            on_step=False,
            on_epoch=True,
            batch_size=batch_size,
            sync_dist=True,
            add_dataloader_idx=False,
        )

    def moduli_prediction(self, batch: Batch, out: StnOutput) -> tuple[Tensor, Tensor]:
        """Predicted (K_VRH, G_VRH) in GPa, each (M,), of the M materials of a moduli batch
        (:func:`~stn_plugin.training.data.collate_moduli_groups`), differentiable."""
        number = batch.material_number
        n = int(number.max()) + 1
        sed = self.predictor.denormalize_sed(out.sed_normalized).double()
        representatives = sed.new_zeros((n, N_PAIRS)).index_put((number, batch.strain_pair), sed)
        first = _first_graphs(number)
        seds = expand_class_representatives(representatives, batch.structure_classes[first])
        elastic = sed_to_elastic(
            from_upper_triangle(seds), batch.volume_per_atom[first].double(), self.predictor.strain
        )
        return vrh_moduli(elastic)

    def _moduli_losses(self, batch: Batch, out: StnOutput) -> dict[str, Tensor]:
        """The moduli-only term (module docstring) and its parts for one moduli batch."""
        bulk, shear = self.moduli_prediction(batch, out)
        target = batch.moduli_target.view(-1, 2)[_first_graphs(batch.material_number)]
        errors = (bulk - target[:, 0]).abs() + (shear - target[:, 1]).abs()
        loss = errors.mean() / self.config.moduli_loss_scale_gpa
        if out.dcv_logits is not None:
            loss = loss + self.config.lambda_class * F.binary_cross_entropy_with_logits(
                out.dcv_logits, batch.dcv.to(out.dcv_logits.dtype)
            )
        return {"loss": loss, "moduli_l1_gpa": errors.mean() / 2}

    def training_step(self, batch: Batch | Mapping[str, Batch], batch_idx: int) -> Tensor:
        """Eq. 9 on a batch (plus the moduli-only term for a combined batch); the true DCV feeds the regressor
        during the teacher-forcing epochs."""
        teacher_forcing = self.current_epoch < self.config.teacher_forcing_epochs
        tensor_batch = batch["tensor"] if isinstance(batch, Mapping) else batch
        losses = self._losses(tensor_batch, self(tensor_batch, tensor_batch.dcv if teacher_forcing else None))
        self._log_step("train", losses, tensor_batch.num_graphs)
        loss = losses["loss"]
        if isinstance(batch, Mapping) and batch.get("moduli") is not None:
            moduli_batch = batch["moduli"]
            out = self(moduli_batch, moduli_batch.dcv if teacher_forcing else None)
            moduli = self._moduli_losses(moduli_batch, out)
            self.log(
                "train/moduli_l1_gpa",
                moduli["moduli_l1_gpa"].detach(),
                on_step=False,
                on_epoch=True,
                batch_size=int(moduli_batch.material_number.max()) + 1,
            )
            loss = loss + self.config.moduli_loss_weight * moduli["loss"]
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], on_epoch=True, sync_dist=False)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        """Loss metrics of a batch of validation graphs (true one-hots, the network's own DCV)."""
        self._log_step("val", self._losses(batch, self(batch)), batch.num_graphs)

    def on_validation_epoch_end(self) -> None:
        """Predict every validation material as users get it and log the scores of ``stn models evaluate``."""
        if not self.validation_materials or self.trainer.sanity_checking:
            return
        evaluation = evaluate_materials(self.predictor, self.validation_materials)
        self.log_dict({f"val/{key}": value for key, value in evaluation.flat().items()}, sync_dist=False)

    def configure_optimizers(self) -> Any:
        """Adam; cosine decay from ``lr`` to ``min_lr`` over all planned steps, stepped every batch."""
        optimizer = torch.optim.Adam(
            self.predictor.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        if self.config.scheduler == "none":
            return optimizer
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(int(self.trainer.estimated_stepping_batches), 1), eta_min=self.config.min_lr
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
