"""Bad training data: every invalid line or record counted by reason, dropped or fatal by choice, never silent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from stn_plugin.data import DatasetFormatError, FilterReason, filter_records, load_jsonl
from stn_plugin.data.filters import InvalidRecordsError, default_on_invalid
from stn_plugin.data.loaders import read_jsonl, record_to_json_line
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.training import prepare_data, train
from tests.fixtures.factories import cubic_tensor, make_record
from tests.test_training_helpers import tiny_config, write_small_dataset

ANISOTROPIC = cubic_tensor(c11=200.0, c12=100.0, c44=150.0)  # Zener ratio 3: its frame shows


def _line(material_id: str, **changes) -> str:
    line = record_to_json_line(make_record(material_id, ANISOTROPIC)) | changes
    return json.dumps(line)


def _bad_dataset(path: Path) -> Path:
    """One line per problem (blank line 5 does not count), two good records."""
    C = ANISOTROPIC.copy()
    asymmetric = C.copy()
    asymmetric[0, 1] += 40.0
    with_nan = C.copy()
    with_nan[3, 3] = np.nan
    rotated = rotate_elastic_tensor(C, Rotation.from_euler("z", 45, degrees=True).as_matrix())
    disordered = Structure(Lattice.cubic(3.0), [{"Cs": 0.5, "K": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    lines = [
        _line("ok-1"),
        _line("nan", elastic_tensor_original=with_nan.tolist()),
        _line("asymmetric", elastic_tensor_original=asymmetric.tolist()),
        _line("pascal", elastic_tensor_original=(C * 1e9).tolist()),
        "",
        '{"material_id": "cut-off", "structure": {',
        _line("ok-1"),
        _line("unstable", elastic_tensor_original=cubic_tensor(c11=100.0, c12=150.0).tolist()),
        _line("rotated", elastic_tensor_original=rotated.tolist()),
        _line("swapped", formula="NaCl"),
        _line("alloy", structure=disordered.as_dict(), formula="CsKCl2"),
        _line("ok-2"),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


EXPECTED = [  # (index = n-th non-empty line, id, reasons)
    (1, "nan", (FilterReason.TENSOR_NOT_FINITE,)),
    (2, "asymmetric", (FilterReason.TENSOR_ASYMMETRIC,)),
    (3, "pascal", (FilterReason.TENSOR_IN_PA,)),
    (4, "<line 6>", (FilterReason.MALFORMED,)),
    (5, "ok-1", (FilterReason.DUPLICATE_ID,)),
    (6, "unstable", (FilterReason.NOT_POSITIVE_DEFINITE, FilterReason.SHEAR_MODULUS_OUT_OF_RANGE)),
    (7, "rotated", (FilterReason.FRAME_MISMATCH,)),
    (8, "swapped", (FilterReason.FORMULA_MISMATCH,)),
    (9, "alloy", (FilterReason.DISORDERED_STRUCTURE,)),
]


def test_every_invalid_record_is_counted_by_reason(tmp_path) -> None:
    path = _bad_dataset(tmp_path / "bad.jsonl")
    loaded = read_jsonl(path)
    kept, report = filter_records(loaded.records, rejected_on_load=loaded.rejected)
    assert [r.material_id for r in kept] == ["ok-1", "ok-2"]
    assert report.n_input == 11 and report.n_kept == 2
    assert [(r.index, r.material_id, r.reasons) for r in report.rejected] == EXPECTED
    assert {reason.value: n for reason, n in report.counts.items() if n} == {
        "malformed": 1,
        "tensor_not_finite": 1,
        "tensor_in_pa": 1,
        "tensor_asymmetric": 1,
        "disordered_structure": 1,
        "formula_mismatch": 1,
        "duplicate_id": 1,
        "not_positive_definite": 1,
        "shear_modulus_out_of_range": 1,
        "frame_mismatch": 1,
    }
    details = {r.material_id: r.detail for r in report.rejected}
    assert details["nan"].startswith(f"{path}, line 2: ") and "NaN or inf at C[3][3]" in details["nan"]
    assert "divide the tensor by 1e9" in details["pascal"] and f"{path}, line 6: " in details["<line 6>"]


def test_raise_mode_and_strict_loading_list_every_problem(tmp_path) -> None:
    path = _bad_dataset(tmp_path / "bad.jsonl")
    loaded = read_jsonl(path)
    with pytest.raises(InvalidRecordsError, match="9 records fail the dataset checks") as info:
        filter_records(loaded.records, on_invalid="raise", rejected_on_load=loaded.rejected)
    message = str(info.value)
    assert f"{path}, line 2: " in message and "frame_mismatch                   1" in message
    assert "--on-invalid drop" in message
    with pytest.raises(DatasetFormatError, match=r"6 invalid entries \(tensor_not_finite 1, .*malformed 1") as info:
        load_jsonl(path)
    assert f"{path}, line 11: " in str(info.value) and "partial occupancy" in str(info.value)


def test_training_data_raise_by_default_drop_on_request(tmp_path) -> None:
    good = write_small_dataset(tmp_path / "small.jsonl")
    bad = tmp_path / "with_bad.jsonl"
    bad.write_text(good.read_text() + _bad_dataset(tmp_path / "bad.jsonl").read_text())
    assert default_on_invalid(bad) == "raise" and default_on_invalid(None) == "drop"
    with pytest.raises(InvalidRecordsError, match="9 records fail"):
        prepare_data(bad)
    prepared = prepare_data(bad, on_invalid="drop")
    assert prepared.report.n_input == 31 and prepared.report.n_kept == 22
    assert {"ok-1", "ok-2"} <= set(prepared.records) and "rotated" not in prepared.records
    with pytest.raises(InvalidRecordsError):  # train() stops before any model is built, report written
        train(config=tiny_config(), data=bad, output_dir=tmp_path / "run", track=False, cache_dir=None)
    report = json.loads((tmp_path / "run" / "validation_report.json").read_text())
    assert report["n_input"] == 31 and report["counts"]["frame_mismatch"] == 1
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cli_train_reports_invalid_records(tmp_path) -> None:
    data = _bad_dataset(tmp_path / "bad.jsonl")
    result = CliRunner().invoke(
        app, ["models", "train", "fig6a", "--data", str(data), "--output", str(tmp_path / "run")]
    )
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "InvalidRecordsError: 9 records fail the dataset checks" in text and "--on-invalid drop" in text
    assert (tmp_path / "run" / "validation_report.json").is_file()
