"""Dataset filters: every reason counted, drop or raise, nothing silent."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from stn_plugin.data.filters import FilterReason, InvalidRecordsError, check_record, filter_records

from .fixtures.factories import cubic_tensor, make_record


def _dataset() -> list:
    return [
        make_record("ok-1"),
        make_record("unstable", cubic_tensor(c11=100.0, c12=150.0, c44=50.0)),  # C11 < C12: not PD, G < 0
        make_record("soft-bulk", cubic_tensor(c11=20.0, c12=-9.0, c44=40.0)),  # K = 0.67 GPa, passes
        make_record("hard-bulk", cubic_tensor(c11=1000.0, c12=400.0, c44=300.0)),  # K = 600 GPa
        make_record("ok-1", cubic_tensor(c11=210.0)),  # duplicate id of the first record
        make_record("hard-shear", cubic_tensor(c11=1300.0, c12=100.0, c44=600.0)),  # G_VRH > 500, K = 500
    ]


def test_counts_and_rejected_records(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        kept, report = filter_records(_dataset())
    assert [r.material_id for r in kept] == ["ok-1", "soft-bulk"]
    assert report.n_input == 6 and report.n_kept == 2
    assert set(report.counts) == set(FilterReason)  # every reason listed, zeros included
    assert {reason: n for reason, n in report.counts.items() if n} == {
        FilterReason.DUPLICATE_ID: 1,
        FilterReason.NOT_POSITIVE_DEFINITE: 1,
        FilterReason.BULK_MODULUS_OUT_OF_RANGE: 1,
        FilterReason.SHEAR_MODULUS_OUT_OF_RANGE: 2,
    }
    assert [(r.index, r.material_id) for r in report.rejected] == [
        (1, "unstable"),
        (3, "hard-bulk"),
        (4, "ok-1"),
        (5, "hard-shear"),
    ]
    assert report.rejected[0].reasons == (
        FilterReason.NOT_POSITIVE_DEFINITE,
        FilterReason.SHEAR_MODULUS_OUT_OF_RANGE,
    )
    assert "kept 2 of 6 records" in caplog.text and "shear_modulus_out_of_range" in caplog.text


def test_raise_mode_reports_everything() -> None:
    with pytest.raises(InvalidRecordsError, match="4 records fail the dataset checks, e.g. unstable") as info:
        filter_records(_dataset(), on_invalid="raise")
    assert info.value.report.n_kept == 2
    kept, report = filter_records(_dataset()[:1], on_invalid="raise")
    assert len(kept) == 1 and report.rejected == ()
    with pytest.raises(ValueError, match='on_invalid must be "drop" or "raise"'):
        filter_records([], on_invalid="skip")  # type: ignore[arg-type]


def test_singular_tensor_is_out_of_range() -> None:
    C = np.zeros((6, 6))
    C[:3, :3] = 100.0  # rank 1 in the normal block, no shear stiffness
    assert set(check_record(make_record("singular", C))) == {
        FilterReason.NOT_POSITIVE_DEFINITE,
        FilterReason.BULK_MODULUS_OUT_OF_RANGE,
        FilterReason.SHEAR_MODULUS_OUT_OF_RANGE,
    }


def test_modulus_range_is_configurable() -> None:
    hard = make_record("hard-shear", cubic_tensor(c11=1300.0, c12=100.0, c44=600.0))
    assert check_record(hard) == (FilterReason.SHEAR_MODULUS_OUT_OF_RANGE,)
    assert check_record(hard, modulus_range=(0.0, 1000.0)) == ()


@pytest.mark.slow
def test_bundled_counts() -> None:
    """The numbers quoted in docs/data.md: with the training defaults only diamond-like carbon (G_VRH = 523 GPa)
    is removed, without stopping (no frame mismatch, no invalid line)."""
    from stn_plugin.training import prepare_data

    report = prepare_data(sources=["dejong2015"]).report
    assert report.n_input == 1004 and report.n_kept == 1003
    assert [(r.material_id, r.reasons) for r in report.rejected] == [
        ("mp-611426", (FilterReason.SHEAR_MODULUS_OUT_OF_RANGE,))
    ]
