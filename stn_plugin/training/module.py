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
``val/loss``, ``val/bce``,  as above, on all 21 strain states of every validation material
``val/dcv_accuracy``
``val/sed_mae_mev``         MAE of U_ij, meV/atom (the model-selection metric)
``val/cij_mae_gpa``         MAE of the 21 upper-triangle C_ij, GPa (C from the 21 predicted U, Eq. 3)
``val/bulk_voigt_mae_gpa``  MAE of B_V, GPa
``val/shear_voigt_mae_gpa`` MAE of G_V, GPa
``val/bulk_vrh_mae_gpa``    MAE of K_VRH, GPa (tensor materials)
``val/shear_vrh_mae_gpa``   MAE of G_VRH, GPa (tensor materials)
``val/<source>/<metric>``   the tensor metrics above per data source of the validation materials, and for
                            moduli-only materials ``bulk_vrh_mae_gpa`` / ``shear_vrh_mae_gpa`` (K, G from
                            the predicted U -> C); ``<source>`` is ``MaterialGraphs.source``
``train/moduli_l1_gpa``     mean (|K_VRH error| + |G_VRH error|) / 2 of the moduli-only training samples
========================== ===================================================================

Mixed supervision: with ``moduli_loss_weight > 0`` a training batch is ``{"tensor": ..., "moduli": ...}``
(:class:`~stn_plugin.training.data.StnDataModule`); the loss adds ``moduli_loss_weight`` times the mean
``(|dK| + |dG|) / moduli_loss_scale_gpa`` of the moduli-only materials (K_VRH, G_VRH from the predicted U of one
strain per structure class, :mod:`stn_plugin.training.moduli_loss`) and their classifier BCE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as pl
import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor
from torch_geometric.data import Batch

from stn_plugin.evaluation.metrics import voigt_moduli
from stn_plugin.models.base import StnModel, StnOutput
from stn_plugin.physics.sed import sed_to_elastic
from stn_plugin.physics.voigt import N_PAIRS, UPPER_COLS, UPPER_ROWS, from_upper_triangle, upper_triangle
from stn_plugin.training.config import TrainingConfig
from stn_plugin.training.moduli_loss import expand_class_representatives, sed_to_elastic_tensor, vrh_moduli

STEP_METRICS: tuple[str, ...] = ("loss", "sed_l1_mev", "bce", "dcv_accuracy")
"""Per-batch metrics of training; validation logs them with ``sed_l1_mev`` named ``sed_mae_mev``."""

TENSOR_METRICS: tuple[str, ...] = (
    "cij_mae_gpa",
    "bulk_voigt_mae_gpa",
    "shear_voigt_mae_gpa",
    "bulk_vrh_mae_gpa",
    "shear_vrh_mae_gpa",
)
"""Validation metrics of the assembled elastic tensors."""

MODULI_METRICS: tuple[str, ...] = ("bulk_vrh_mae_gpa", "shear_vrh_mae_gpa")
"""Validation metrics of moduli-only materials."""


def tensor_metrics(
    sed_pred: NDArray[np.floating],
    sed_true: NDArray[np.floating],
    volume_per_atom: NDArray[np.floating],
    magnitude: float,
) -> dict[str, float]:
    """MAE of C_ij (21 upper-triangle entries), B_V and G_V from the 21 U_ij of M materials.

    Args:
        sed_pred, sed_true: U_ij, shape (M, 21), meV/atom, ``VOIGT_PAIRS`` order.
        volume_per_atom: (M,) Angstrom^3/atom.
        magnitude: strain magnitude.

    Returns:
        the ``TENSOR_METRICS`` in GPa.
    """
    c_pred, c_true = (
        sed_to_elastic(from_upper_triangle(sed), volume_per_atom, magnitude) for sed in (sed_pred, sed_true)
    )
    m_pred, m_true = voigt_moduli(c_pred), voigt_moduli(c_true)
    (k_pred, g_pred), (k_true, g_true) = (vrh_moduli(torch.as_tensor(c)) for c in (c_pred, c_true))
    return {
        "cij_mae_gpa": float(np.abs(upper_triangle(c_pred) - upper_triangle(c_true)).mean()),
        "bulk_voigt_mae_gpa": float(np.abs(m_pred["bulk_voigt"] - m_true["bulk_voigt"]).mean()),
        "shear_voigt_mae_gpa": float(np.abs(m_pred["shear_voigt"] - m_true["shear_voigt"]).mean()),
        "bulk_vrh_mae_gpa": float((k_pred - k_true).abs().mean()),
        "shear_vrh_mae_gpa": float((g_pred - g_true).abs().mean()),
    }


def per_source(metric: Callable[[NDArray[np.bool_]], dict[str, float]], sources: Sequence[str]) -> dict[str, float]:
    """``{"<source>/<key>": value}`` of ``metric(mask)`` for the materials of every source in ``sources``."""
    names = np.asarray(sources)
    return {
        f"{source}/{key}": value for source in sorted(set(sources)) for key, value in metric(names == source).items()
    }


def _first_graphs(material_number: Tensor) -> Tensor:
    """(M,) index of the first graph of every material in a batch whose graphs are grouped by material."""
    starts = torch.ones_like(material_number, dtype=torch.bool)
    starts[1:] = material_number[1:] != material_number[:-1]
    return torch.nonzero(starts).squeeze(1)


def from_upper_triangle_torch(values: Tensor) -> Tensor:
    """(M, 21) ``VOIGT_PAIRS``-ordered entries -> (M, 6, 6) symmetric matrices."""
    rows, cols = torch.as_tensor(UPPER_ROWS), torch.as_tensor(UPPER_COLS)
    matrix = values.new_zeros((values.shape[0], 6, 6))
    matrix[:, rows, cols] = values
    matrix[:, cols, rows] = values
    return matrix


class StnLightningModule(pl.LightningModule):
    """Trains a :class:`~stn_plugin.models.StnModel` on batches of strained graphs.

    Batches follow the graph contract plus ``material_number`` (B,) (see :mod:`stn_plugin.training.data`).

    Args:
        model: the model, with its normalisation statistics already set.
        training: training config (learning rate, schedule, lambda_class, teacher forcing, loss weighting).
        mean_inverse_volume: training mean of 1/V, 1/Angstrom^3; needed by the ``per_volume`` loss weighting.
    """

    def __init__(
        self, model: StnModel, training: TrainingConfig | Mapping[str, Any], mean_inverse_volume: float | None = None
    ) -> None:
        super().__init__()
        self.model = model
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
        self._val_rows: list[Tensor] = []
        self._moduli_rows: list[Tensor] = []
        self.val_sources: list[str] = []
        self.val_moduli_sources: list[str] = []

    def set_validation_sources(self, tensor_sources: Sequence[str], moduli_sources: Sequence[str]) -> None:
        """Data source of every validation material (tensor loader, moduli-only loader), for per-source metrics."""
        self.val_sources, self.val_moduli_sources = list(tensor_sources), list(moduli_sources)

    def forward(self, batch: Batch, dcv_input: Tensor | None = None) -> StnOutput:
        """Run the wrapped model."""
        return self.model(batch, dcv_input)

    def _losses(self, batch: Batch, out: StnOutput) -> dict[str, Tensor]:
        """Eq. 9 and its parts for one batch."""
        errors = (out.sed_normalized - self.model.normalize_sed(batch.sed)).abs()
        metrics = {"sed_l1_mev": errors.mean() * self.model.sed_std}
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
        sed = self.model.denormalize_sed(out.sed_normalized).double()
        representatives = sed.new_zeros((n, N_PAIRS)).index_put((number, batch.strain_pair), sed)
        first = _first_graphs(number)
        seds = expand_class_representatives(representatives, batch.structure_classes[first])
        elastic = sed_to_elastic_tensor(
            from_upper_triangle_torch(seds), batch.volume_per_atom[first].double(), float(self.model.strain)
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
        losses = self._losses(tensor_batch, self.model(tensor_batch, tensor_batch.dcv if teacher_forcing else None))
        self._log_step("train", losses, tensor_batch.num_graphs)
        loss = losses["loss"]
        if isinstance(batch, Mapping) and batch.get("moduli") is not None:
            moduli_batch = batch["moduli"]
            out = self.model(moduli_batch, moduli_batch.dcv if teacher_forcing else None)
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

    def on_validation_epoch_start(self) -> None:
        self._val_rows = []
        self._moduli_rows = []

    def validation_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Loss metrics of a batch; keeps (material, strain, U_pred, U_true, V/N) rows for the C metrics, or
        (K_pred, G_pred, K_true, G_true) rows of a moduli-only batch (``dataloader_idx`` 1)."""
        out = self.model(batch)
        if dataloader_idx == 1:
            bulk, shear = self.moduli_prediction(batch, out)
            target = batch.moduli_target.view(-1, 2)[_first_graphs(batch.material_number)]
            self._moduli_rows.append(torch.stack([bulk, shear, target[:, 0], target[:, 1]], dim=1).detach())
            return
        self._log_step("val", self._losses(batch, out), batch.num_graphs)
        sed_pred = self.model.denormalize_sed(out.sed_normalized)
        # validation one-hots are the true ones (read the pair from them)
        pair = batch.strain_onehot.argmax(dim=-1)
        columns = (batch.material_number, pair, sed_pred, batch.sed, batch.volume_per_atom)
        self._val_rows.append(torch.stack([c.detach().to(torch.float64) for c in columns], dim=1))

    def on_validation_epoch_end(self) -> None:
        """Assemble the 21 U of every validation material into C and log the tensor metrics."""
        if not self._val_rows:
            return
        rows = self.all_gather(torch.cat(self._val_rows)).reshape(-1, 5).cpu().numpy()
        material, pair = rows[:, 0].astype(int), rows[:, 1].astype(int)
        n = material.max() + 1
        sed_pred, sed_true = np.full((n, N_PAIRS), np.nan), np.full((n, N_PAIRS), np.nan)
        volume = np.full(n, np.nan)
        sed_pred[material, pair], sed_true[material, pair], volume[material] = rows[:, 2], rows[:, 3], rows[:, 4]
        complete = np.isfinite(sed_pred).all(axis=1)  # a material missing strains (limit_val_batches) is left out
        strain = float(self.model.strain)

        def metrics_of(mask: NDArray[np.bool_]) -> dict[str, float]:
            mask = mask & complete
            if not mask.any():
                return dict.fromkeys(TENSOR_METRICS, float("nan"))
            return tensor_metrics(sed_pred[mask], sed_true[mask], volume[mask], strain)

        metrics = metrics_of(np.ones(n, dtype=bool))
        if len(self.val_sources) == n:
            metrics.update(per_source(metrics_of, self.val_sources))
        if self._moduli_rows:
            moduli = torch.cat(self._moduli_rows).cpu().numpy()

            def moduli_metrics_of(mask: NDArray[np.bool_]) -> dict[str, float]:
                errors = np.abs(moduli[mask, :2] - moduli[mask, 2:]).mean(axis=0)
                return dict(zip(MODULI_METRICS, map(float, errors), strict=True))

            if len(self.val_moduli_sources) == len(moduli):
                metrics.update(per_source(moduli_metrics_of, self.val_moduli_sources))
        self.log_dict({f"val/{key}": value for key, value in metrics.items()}, on_epoch=True, sync_dist=False)
        self._val_rows = []
        self._moduli_rows = []

    def configure_optimizers(self) -> Any:
        """Adam; cosine decay from ``lr`` to ``min_lr`` over all planned steps, stepped every batch."""
        optimizer = torch.optim.Adam(self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)
        if self.config.scheduler == "none":
            return optimizer
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(int(self.trainer.estimated_stepping_batches), 1), eta_min=self.config.min_lr
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
