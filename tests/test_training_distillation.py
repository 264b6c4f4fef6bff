"""Teacher labels for distillation: only the training part's moduli-only records change, the split does not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from stn_plugin.data.loaders import read_bundled, read_jsonl
from stn_plugin.data.records import MP2025_BINARY
from stn_plugin.physics.moduli import isotropic_stiffness
from stn_plugin.structure.checks import StructureInputError
from stn_plugin.training.data import prepare_data
from stn_plugin.training.distillation import teacher_labelled_records
from tests.fixtures.factories import cubic_tensor
from tests.test_training_helpers import write_small_dataset


class IsotropicTeacher:
    """A stand-in teacher: C of an isotropic solid with the record's K and G scaled by 1.1 (so labels differ from
    the DFT moduli), a refusal for one chosen structure, and an unstable C for another (structures by identity)."""

    def __init__(self, moduli: dict[int, tuple[float, float]], refuse: int, unstable: int) -> None:
        self.moduli, self.refuse, self.unstable = moduli, refuse, unstable

    def predict_structures(self, structures, errors="raise", progress=None, threads=1):
        assert errors == "skip"
        results = []
        for structure in structures:
            key = id(structure)  # the records' own structure objects are passed
            if key == self.refuse:
                results.append(StructureInputError("refused", "none"))
                continue
            k, g = (1.1 * m for m in self.moduli[key])
            tensor = isotropic_stiffness(k, g) if key != self.unstable else cubic_tensor(100.0, 150.0, 50.0)
            results.append(SimpleNamespace(elastic_tensor=SimpleNamespace(voigt=tensor)))
        if progress is not None:
            progress(len(structures))
        return results


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """20 de Jong tensor records and the 30 smallest binaries (moduli only), split with seed 0."""
    tensors = write_small_dataset(tmp_path_factory.mktemp("data") / "small.jsonl")
    binaries = sorted(read_bundled(MP2025_BINARY).records, key=lambda r: (len(r.structure), r.material_id))[:30]
    return prepare_data([*read_jsonl(tensors).records, *binaries], split_seed=0, on_invalid="drop")


def test_only_training_moduli_records_get_the_teacher_tensor(prepared) -> None:
    binaries_train = [r for r in prepared.part("train") if r.elastic_tensor is None]
    assert len(binaries_train) >= 3
    moduli = {id(r.structure): (r.k_vrh, r.g_vrh) for r in prepared.records.values()}
    refused, unstable = (id(r.structure) for r in binaries_train[:2])
    teacher = IsotropicTeacher(moduli, refuse=refused, unstable=unstable)
    records, report = teacher_labelled_records(prepared, teacher, "teacher-x", split_seed=0)

    by_id = {r.material_id: r for r in records}
    assert list(by_id) == list(prepared.records)
    assert set(report.not_predicted) == {binaries_train[0].material_id}
    assert set(report.invalid_label) == {binaries_train[1].material_id}
    assert "not_positive_definite" in report.invalid_label[binaries_train[1].material_id]
    assert len(report.labelled) == len(binaries_train) - 2
    for material_id, original in prepared.records.items():
        record = by_id[material_id]
        if material_id in report.labelled:
            assert prepared.part_of[material_id] == "train"
            k, g = original.k_vrh, original.g_vrh
            assert record.k_vrh == pytest.approx(1.1 * k, rel=1e-6)
            assert record.g_vrh == pytest.approx(1.1 * g, rel=1e-6)
            assert (record.reference_moduli.bulk_vrh, record.reference_moduli.shear_vrh) == (k, g)
            assert "teacher-x" in record.provenance.frame_note
            assert record.source == original.source
        else:
            assert record is original  # tensors, val/test binaries, refused and invalid labels are untouched
    assert any(prepared.part_of[i] != "train" and by_id[i].elastic_tensor is None for i in by_id)
    again = prepare_data(records, split_seed=0, on_invalid="raise")
    assert again.split.part("val") == prepared.split.part("val")
    assert again.split.part("test") == prepared.split.part("test")
    assert report.summary().startswith(f"teacher-x: labelled {len(report.labelled)} moduli-only records of train")


def test_an_unknown_split_part_is_refused(prepared) -> None:
    with pytest.raises(ValueError, match="unknown split parts"):
        teacher_labelled_records(prepared, IsotropicTeacher({}, 0, 0), "t", parts=("training",))


def test_anchored_label_has_the_dft_moduli_and_the_teacher_anisotropy() -> None:
    from stn_plugin.physics.moduli import elastic_moduli
    from stn_plugin.training.distillation import anchored_to_moduli

    teacher = np.diag([0.0, 0, 0, 17.3, 17.3, 15.5])
    teacher[:3, :3] = [[54.6, 23.6, 29.4], [23.6, 54.6, 29.4], [29.4, 29.4, 47.4]]  # hexagonal, GaTe-like
    anchored = anchored_to_moduli(teacher, 11.9, 8.8)
    moduli = elastic_moduli(anchored)
    assert moduli.bulk_vrh == pytest.approx(11.9, abs=1e-3) and moduli.shear_vrh == pytest.approx(8.8, abs=1e-3)
    assert moduli.born_stable
    shift = anchored - teacher  # an isotropic stiffness: C11 - C12 = 2 C44, the same on every axis
    dk, dg = (shift[0, 0] + 2 * shift[0, 1]) / 3, shift[3, 3]
    np.testing.assert_allclose(shift, isotropic_stiffness(dk, dg), atol=1e-9)
    assert elastic_moduli(isotropic_stiffness(80.0, 30.0)).shear_reuss == pytest.approx(30.0)


def test_anchored_labels_keep_the_dft_moduli_of_the_records(prepared) -> None:
    moduli = {id(r.structure): (r.k_vrh, r.g_vrh) for r in prepared.records.values()}
    records, report = teacher_labelled_records(
        prepared, IsotropicTeacher(moduli, 0, 0), "teacher-y", split_seed=0, anchor_moduli=True
    )
    assert report.anchored and report.labelled
    by_id = {r.material_id: r for r in records}
    for material_id in report.labelled:
        original, record = prepared.records[material_id], by_id[material_id]
        assert record.k_vrh == pytest.approx(original.k_vrh, abs=1e-3)
        assert record.g_vrh == pytest.approx(original.g_vrh, abs=1e-3)
        assert "shifted isotropically onto the DFT" in record.provenance.frame_note
