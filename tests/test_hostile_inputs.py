"""Hostile and careless input (issue 17): crashes and memory exhaustion become typed errors.

The memory cases run in a subprocess under an address-space limit (``resource.RLIMIT_AS``, 4 GiB) and a time
limit, through the public surface (``stn_plugin.load(...).predict_structure``, ``read_structure``, the data
loaders), so a regression shows up as a MemoryError, a signal (spglib's segfault: exit -11) or a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from stn_plugin.data.filters import filter_records
from stn_plugin.data.loaders import read_jsonl
from stn_plugin.data.records import FilterReason
from stn_plugin.io import StructureParseError, TooManyAtomsError, read_structure

ADDRESS_SPACE_LIMIT = 4 << 30
"""Bytes of address space a memory case may use."""

_LIMITED = f"""
import resource
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT}))
import numpy as np
from pymatgen.core import Lattice, Structure
import stn_plugin
si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
"""


def _run_limited(code: str, timeout: float = 60.0) -> str:
    """Run ``code`` after ``_LIMITED`` in a fresh interpreter with one thread; return its stdout (exit 0 required)."""
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


_PREDICTION_CASES = """
import json
cases = {
    "nan": Structure(si.lattice, ["Si", "Si"], [[0, 0, 0], [np.nan, 0.25, 0.25]]),
    "inf": Structure(si.lattice, ["Si", "Si"], [[0, 0, 0], [np.inf, 0.25, 0.25]]),
    "far": Structure(si.lattice, ["Si"], [[1e17, 0, 0]]),
    "vacuum": Structure(Lattice.cubic(500), ["Si", "Si"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    "huge": Structure(si.lattice.matrix * 1e200, si.species, si.frac_coords),
    "image": Structure(si.lattice, si.species, si.frac_coords + np.array([[1000, 0, 0]] + [[0, 0, 0]] * 7)),
    "si": si,
}
model = stn_plugin.load("stn-mp-2023")
out = {}
for name, item in zip(cases, model.predict_structures(list(cases.values()), errors="skip"), strict=True):
    out[name] = item.elastic_tensor.voigt.tolist() if hasattr(item, "elastic_tensor") else f"{type(item).__name__} {item}"
try:
    model.predict_structure(cases["vacuum"], max_atoms=10**6)
except stn_plugin.structure.checks.StructureInputError as exc:
    out["vacuum_raised_limit"] = type(exc).__name__
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def limited_predictions() -> dict[str, str | list]:
    """The bundled model's answer to each hostile structure, from one process under 4 GiB and 90 s."""
    return json.loads(_run_limited(_PREDICTION_CASES, timeout=90))


@pytest.mark.parametrize("case", ["nan", "inf"])
def test_nan_or_inf_coordinate_is_a_typed_error_not_a_segfault(limited_predictions: dict, case: str) -> None:
    message = "InvalidCoordinatesError The coordinates of 1 of 2 atoms (sites [1]) contain NaN or infinity."
    assert limited_predictions[case].startswith(message)


def test_periodic_image_coordinate_predicts_like_the_wrapped_cell_in_bounded_memory(limited_predictions: dict) -> None:
    assert np.abs(np.array(limited_predictions["image"]) - np.array(limited_predictions["si"])).max() < 1e-3


def test_far_out_of_cell_coordinate_is_refused(limited_predictions: dict) -> None:
    assert limited_predictions["far"].startswith("InvalidCoordinatesError Site 0 has the fractional coordinates")


def test_vacuum_cell_is_refused_before_the_neighbour_search(limited_predictions: dict) -> None:
    message = "StructureTooLargeError The cell's volume is 1.25e+08 Angstrom^3, more than 2000 cubes"
    assert limited_predictions["vacuum"].startswith(message)
    assert limited_predictions["vacuum_raised_limit"] == "IsolatedAtomsError"  # the overlap search stays small


def test_huge_lattice_is_a_typed_error_not_an_overflow(limited_predictions: dict) -> None:
    assert limited_predictions["huge"].startswith("InvalidLatticeError A lattice vector component is 5.47e+200")


def _symmetric_cif(path: Path, sites: int) -> Path:
    """A CIF in Fm-3m (192 operations) with ``sites`` general positions: ``192 * sites`` atoms once expanded."""
    rng = np.random.default_rng(0)
    head = [
        "data_big",
        "_symmetry_space_group_name_H-M 'F m -3 m'",
        "_symmetry_Int_Tables_number 225",
        *(f"_cell_length_{x} 80" for x in "abc"),
        *(f"_cell_angle_{x} 90" for x in ("alpha", "beta", "gamma")),
        "loop_",
        *(f"_atom_site_{x}" for x in ("label", "type_symbol", "fract_x", "fract_y", "fract_z", "occupancy")),
    ]
    rows = [f"Si{i} Si {x:.5f} {y:.5f} {z:.5f} 1" for i, (x, y, z) in enumerate(rng.uniform(0.01, 0.24, (sites, 3)))]
    path.write_text("\n".join(head + rows) + "\n")
    return path


def test_symmetric_cif_expanding_past_the_limit_is_refused_before_expansion(tmp_path: Path) -> None:
    cif = _symmetric_cif(tmp_path / "big.cif", 100)
    out = _run_limited(
        f"""
        from stn_plugin.io import TooManyAtomsError, read_structure
        try:
            read_structure({str(cif)!r})
        except TooManyAtomsError as exc:
            print(exc)
        """,
        timeout=30,
    )
    assert "the CIF describes about 19" in out and "more than the limit of 2000" in out, out
    with pytest.raises(TooManyAtomsError, match="--max-atoms"):
        read_structure(_symmetric_cif(tmp_path / "small.cif", 12), max_atoms=1000)


def _jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _line(structure: Structure, material_id: str = "mp-1") -> dict:
    C = np.diag([160.0, 160.0, 160.0, 80.0, 80.0, 80.0])  # GPa, cubic
    C[:3, :3] += 60.0 * (1 - np.eye(3))
    return {
        "material_id": material_id,
        "formula": structure.composition.reduced_formula,
        "structure": structure.as_dict(),
        "elastic_tensor_original": C.tolist(),
        "provenance": {"source": "test", "licence": "CC0", "citation": "none", "frame_note": "structure frame"},
    }


def test_dataset_nan_coordinate_and_close_atoms_are_reported_not_fatal(tmp_path: Path) -> None:
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    nan = _line(si, "nan")
    nan["structure"]["sites"][1]["abc"][0] = float("nan")
    close = Structure(si.lattice, ["Si", "Si"], [[0, 0, 0], [1e-5, 0, 0]])
    path = _jsonl(tmp_path / "bad.jsonl", [nan, _line(close, "close"), [1, 2, 3], _line(si, "good")])
    loaded = read_jsonl(path)
    assert [r.material_id for r in loaded.records] == ["good"]
    details = {r.material_id: (r.reasons, r.detail) for r in loaded.rejected}
    assert details["nan"][0] == (FilterReason.INVALID_STRUCTURE,)
    assert "contain NaN or infinity" in details["nan"][1] and "line 1" in details["nan"][1]
    assert details["close"][0] == (FilterReason.INVALID_STRUCTURE,)
    assert "Angstrom apart" in details["close"][1]
    assert details["<line 3>"][0] == (FilterReason.MALFORMED,)
    assert "line 3: the line is a JSON list, not an object" in details["<line 3>"][1]
    _, report = filter_records(loaded.records, rejected_on_load=loaded.rejected)
    assert report.counts[FilterReason.INVALID_STRUCTURE] == 2 and report.n_kept == 1


def test_json_module_outside_pymatgen_is_refused_without_import(tmp_path: Path) -> None:
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    data = si.as_dict()
    data["sites"][0]["properties"] = {"x": {"@module": "this", "@class": "X"}}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(data))
    sys.modules.pop("this", None)
    with pytest.raises(StructureParseError, match="names the Python module 'this' in an @module key"):
        read_structure(path)
    line = _line(si, "evil")
    line["structure"] = data
    loaded = read_jsonl(_jsonl(tmp_path / "evil.jsonl", [line]))
    assert loaded.rejected[0].reasons == (FilterReason.INVALID_STRUCTURE,)
    assert "this" not in sys.modules


def test_text_entries_in_a_tensor_are_not_coerced(tmp_path: Path) -> None:
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    line = _line(si, "text")
    line["elastic_tensor_original"][0][0] = "160"
    loaded = read_jsonl(_jsonl(tmp_path / "text.jsonl", [line]))
    assert loaded.rejected[0].reasons == (FilterReason.MALFORMED,)
    assert 'holds text entries (e.g. "100"), not numbers' in loaded.rejected[0].detail


def test_a_directory_is_named_as_such(tmp_path: Path) -> None:
    from stn_plugin.io import StructureFileNotFoundError

    with pytest.raises(StructureFileNotFoundError, match="is a directory, not a structure file"):
        read_structure(tmp_path)


def _si() -> Structure:
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])


def test_lines_without_provenance_get_a_labelled_default_unless_required(tmp_path: Path) -> None:
    from stn_plugin.data.loaders import DatasetFormatError, load_jsonl

    line = _line(_si(), "bare")
    del line["provenance"]
    path = _jsonl(tmp_path / "mine.jsonl", [line])
    (record,) = load_jsonl(path)
    assert record.provenance.source == "user file mine.jsonl"
    assert record.provenance.licence == "unknown" and record.provenance.citation == "unknown"
    assert "frame of the given structure" in record.provenance.frame_note
    with pytest.raises(DatasetFormatError, match="line 1: material 'bare': no provenance in the line"):
        load_jsonl(path, require_provenance=True)


def test_prepare_accepts_lines_without_provenance(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stn_plugin.cli.main import app

    lines = []
    for n, a in enumerate((5.40, 5.43, 5.46, 5.49, 5.52, 5.55, 5.58, 5.61, 5.64, 5.67)):
        line = _line(Structure.from_spacegroup("Fd-3m", Lattice.cubic(a), ["Si"], [[0, 0, 0]]), f"si-{n}")
        del line["provenance"]
        lines.append(line)
    data = _jsonl(tmp_path / "mine.jsonl", lines)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["data", "prepare", "--data", str(data), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "no provenance" not in result.output
    first = json.loads((out / "filtered.jsonl").read_text().splitlines()[0])
    assert first["provenance"]["source"] == "user file mine.jsonl"


def test_rejected_lines_carry_their_line_number(tmp_path: Path) -> None:
    from stn_plugin.data.loaders import DatasetFormatError, load_jsonl

    path = tmp_path / "gaps.jsonl"
    path.write_text(json.dumps(_line(_si(), "ok")) + "\n\n" + json.dumps({"formula": "Si"}) + "\n")
    loaded = read_jsonl(path)
    assert [(r.line, r.index) for r in loaded.rejected] == [(3, 1)]
    assert "line 3: the line has no material_id" in loaded.rejected[0].detail
    with pytest.raises(DatasetFormatError, match="gaps.jsonl, line 3: the line has no material_id"):
        load_jsonl(path)


_POSCAR = "Si2\n1.0\n5.47 0 0\n0 5.47 0\n0 0 5.47\nSi\n{count}\nDirect\n0 0 0\n0.25 0.25 0.25\n{extra}"


@pytest.mark.parametrize(("count", "extra", "found"), [(2, "0.5 0.5 0.5\n", 3), (3, "", 2)])
def test_poscar_count_mismatch_is_a_typed_error(tmp_path: Path, count: int, extra: str, found: int) -> None:
    from stn_plugin.io import StructureReadError

    path = tmp_path / "POSCAR"
    path.write_text(_POSCAR.format(count=count, extra=extra))
    with pytest.raises(
        StructureReadError, match=rf"POSCAR.*counts \[{count}\] add up to {count} atoms, but it has {found}"
    ):
        read_structure(path)


_CIF = """data_x
_cell_length_a 5.47
_cell_length_b 5.47
_cell_length_c 5.47
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
{site}1 {site} 0 0 0 {occ}
Si2 Si 0.25 0.25 0.25 1
"""


def test_cif_occupancy_rounding_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "occ.cif"
    path.write_text(_CIF.format(site="Si", occ="1.001"))
    assert len(read_structure(path)) == 2


def test_dummy_species_is_refused_by_name(tmp_path: Path) -> None:
    from stn_plugin.io import InvalidStructureError

    path = tmp_path / "dummy.cif"
    path.write_text(_CIF.format(site="X", occ="1"))
    with pytest.raises(InvalidStructureError, match="species X0\\+?.*not a chemical element|species X.*not a chemical"):
        read_structure(path)
