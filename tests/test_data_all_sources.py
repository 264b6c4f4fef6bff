"""The four bundled sources together: the order of preference of de-duplication, the split that keeps the default
split's parts, prepare_data and `stn data prepare --dataset mp-all` (on small stand-in sources)."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import combinations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from typer.testing import CliRunner

from stn_plugin.data.dedup import DeduplicationReport, DuplicateEntry, deduplicate
from stn_plugin.data.loaders import LoadedRecords
from stn_plugin.data.records import ALL_SOURCES, BUNDLED_DATASETS, SOURCES, ElasticRecord
from stn_plugin.data.splits import PARTS, DataSplit, combined_split
from stn_plugin.training import data as training_data

from .fixtures.factories import TEST_PROVENANCE, cubic_tensor

ELEMENTS = ("Li", "Na", "K", "Rb", "Cs", "Mg", "Ca", "Sr", "Ba", "Cl", "Br", "I", "F", "O", "S")
PAIRS = list(combinations(ELEMENTS, 2))  # 105 formulas: records of different pairs are never compared


def b2(pair: tuple[str, str], tetragonal: bool = False) -> Structure:
    """A CsCl-type cell of two elements; tetragonal (c/a = 1.2) when asked."""
    lattice = Lattice.tetragonal(3.0, 3.6) if tetragonal else Lattice.cubic(3.0)
    return Structure(lattice, list(pair), [[0, 0, 0], [0.5, 0.5, 0.5]])


def record(material_id: str, source: str, pair: tuple[str, str], tensor: bool = True, **fields) -> ElasticRecord:
    structure = fields.pop("structure", None) or b2(pair)
    moduli = (
        {"elastic_tensor": fields.pop("elastic_tensor", cubic_tensor())} if tensor else {"k_vrh": 25.0, "g_vrh": 9.0}
    )
    return ElasticRecord(
        material_id=material_id,
        formula=structure.composition.reduced_formula,
        structure=structure,
        provenance=TEST_PROVENANCE,
        source=source,
        **moduli,
        **fields,
    )


# --- de-duplication: the order of preference ---


def test_newest_first_order_prefers_the_newer_tensor() -> None:
    pair = ("Na", "Cl")
    rotated = b2(pair)
    rotated.make_supercell([2, 1, 1])  # another cell of the same crystal: a structure match under another id
    records = [
        record("mp-1", "dejong2015", pair),
        record("mp-1", "mp2026", pair),  # same id
        record("mp-2", "mp2023_elatbot", pair, structure=rotated),  # same structure
    ]
    kept, report = deduplicate(records, source_order=ALL_SOURCES)
    assert [(r.material_id, r.source) for r in kept] == [("mp-1", "mp2026")]
    assert [(e.removed_source, e.kept_source, e.match, e.rule) for e in report.removed] == [
        ("dejong2015", "mp2026", "material_id", "source_order"),
        ("mp2023_elatbot", "mp2026", "structure", "source_order"),
    ]
    assert report.removed[0].reason == "source 'mp2026' comes before 'dejong2015' in the order of preference"
    assert report.source_order == ALL_SOURCES


def test_default_order_keeps_de_jong_and_newest_first_keeps_elatbot() -> None:
    pair = ("K", "Br")
    records = [record("mp-3", "mp2023_elatbot", pair), record("mp-3", "dejong2015", pair)]
    assert [r.source for r in deduplicate(records)[0]] == ["dejong2015"]
    assert [r.source for r in deduplicate(records, source_order=ALL_SOURCES)[0]] == ["mp2023_elatbot"]


def test_a_tensor_wins_over_moduli_only_whatever_the_order() -> None:
    pair = ("Li", "F")
    records = [record("mp-4", "mp2025_binary", pair, tensor=False), record("mp-4", "user", pair)]
    kept, report = deduplicate(records, source_order=("mp2025_binary", "user"))
    assert [r.source for r in kept] == ["user"]
    (entry,) = report.removed
    assert (entry.rule, entry.reason) == (
        "tensor_over_moduli_only",
        "a record with a tensor is kept over a moduli-only one",
    )


def test_counts_by_rule_and_summary() -> None:
    records = [
        record("mp-5", "mp2025_binary", ("Li", "Cl"), tensor=False),
        record("mp-5", "mp2026", ("Li", "Cl")),
        record("mp-6", "dejong2015", ("Na", "Br")),
        record("mp-6", "mp2026", ("Na", "Br")),
        record("mp-7", "dejong2015", ("K", "I")),
        record("mp-8", "mp2026", ("K", "I")),
    ]
    _, report = deduplicate(records, source_order=ALL_SOURCES)
    assert report.counts_by_rule() == {
        "tensor_over_moduli_only": {"material_id": 1, "structure": 0},
        "source_order": {"material_id": 1, "structure": 1},
    }
    summary = report.summary(max_listed=1)
    assert "order of the sources: mp2026 > mp2023_elatbot > dejong2015 > mp2025_binary" in summary
    assert "  tensor_over_moduli_only      1 same id     0 same structure" in summary
    assert "  source_order                 1 same id     1 same structure" in summary
    assert summary.count("  removed ") == 1 and summary.endswith("... and 2 more (deduplication_report.json)")
    assert "... and" not in report.summary()


# --- the split that keeps reference parts ---


def strata(n: int = 120) -> dict[str, tuple[str, str]]:
    """id -> (source, crystal system): two sources, two systems."""
    return {f"mp-{k}": (("mp2026", "dejong2015")[k % 2], ("cubic", "tetragonal", "cubic")[k % 3]) for k in range(n)}


def test_reference_parts_are_kept_and_strata_keep_their_sizes() -> None:
    data = strata()
    subset = {i: data[i] for i in list(data)[::2]}  # half of every stratum, split with another seed
    reference = {i: part for part in PARTS for i in combined_split(subset, seed=9).part(part)}
    reference["not-in-the-data"] = "test"
    split = combined_split(data, seed=5, reference_parts=reference)
    free = combined_split(data, seed=5)
    assert split == combined_split(data, seed=5, reference_parts=reference)  # same seed, same split
    assert split != combined_split(data, seed=6, reference_parts=reference)
    for material_id, part in reference.items():
        assert material_id not in data or material_id in split.part(part)
    assert split.from_reference == tuple(sorted(i for i in reference if i in data))
    assert split.counts_by_source == free.counts_by_source  # each (source, system) stratum: the same part sizes
    assert sorted(split.train + split.val + split.test) == sorted(data)
    assert not set(split.train) & set(split.test) and not set(split.val) & set(split.test)
    assert free.from_reference == () and combined_split(data, seed=5, reference_parts={}) == free


def test_reference_parts_beyond_the_part_sizes_still_hold() -> None:
    """More fixed test members than the stratum's test size: they stay in test, the others fill train and val."""
    data = {f"m{k}": ("mp2026", "cubic") for k in range(10)}
    split = combined_split(data, seed=0, reference_parts={f"m{k}": "test" for k in range(4)})
    assert set(split.test) == {"m0", "m1", "m2", "m3"} and len(split.val) == 1 and len(split.train) == 5


def test_reference_parts_reject_unknown_parts() -> None:
    with pytest.raises(ValueError, match="unknown parts"):
        combined_split(strata(), reference_parts={"mp-0": "holdout"})


def test_reference_parts_follow_the_records_kept_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """A default-split material keeps its part under its own id or that of its replacement; test wins a conflict."""
    default = DataSplit(seed=0, fractions=(0.8, 0.1, 0.1), train=("a", "x"), val=("b",), test=("c", "y"), counts={})
    monkeypatch.setattr(training_data, "prepare_data", lambda **_: type("P", (), {"split": default})())

    def entry(removed: str, kept: str) -> DuplicateEntry:
        return DuplicateEntry(
            removed_id=removed,
            removed_source="dejong2015",
            kept_id=kept,
            kept_source="mp2026",
            match="structure",
            rule="source_order",
            reason="",
        )

    report = DeduplicationReport(
        n_input=0, n_kept=0, input_by_source={}, kept_by_source={}, removed=(entry("b", "new-b"), entry("y", "x"))
    )
    parts = training_data.reference_parts(report, split_seed=0, fractions=(0.8, 0.1, 0.1))
    assert parts == {"a": "train", "x": "test", "new-b": "val", "c": "test"}


# --- prepare_data and the command line on small stand-in sources ---


def stand_in_sources() -> dict[str, LoadedRecords]:
    """Small versions of the four bundled sources: 30 de Jong, 20 ElaTBot, 30 binary, 60 MP 2026 materials, with the
    overlaps of the real files (MP 2026 holds most of the others under the same ids) and one record per new check."""
    sources: dict[str, list[ElasticRecord]] = {name: [] for name in ALL_SOURCES}
    stiff = {"elastic_tensor": cubic_tensor(c11=1300.0, c12=50.0, c44=100.0)}  # K, G in range; C11 above the limit
    for k, pair in enumerate(PAIRS[:80]):
        tetragonal = k % 3 == 0
        structure = b2(pair, tetragonal)
        source = "dejong2015" if k < 30 else "mp2023_elatbot" if k < 50 else "mp2025_binary"
        fields = stiff if k == 32 else {}
        sources[source].append(
            record(f"mp-{k}", source, pair, source != "mp2025_binary", structure=structure, **fields)
        )
        if k % 4:  # three quarters of the old materials are in MP 2026 (mp-32 is not)
            sources["mp2026"].append(record(f"mp-{k}", "mp2026", pair, structure=structure))
    for k, pair in enumerate(PAIRS[80:105], start=80):
        status = "inconsistent" if k == 104 else "verified"
        sources["mp2026"].append(record(f"mp-{k}", "mp2026", pair, structure=b2(pair, k % 2 == 0), frame_status=status))
    return {name: LoadedRecords(records, []) for name, records in sources.items()}


@pytest.fixture()
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, LoadedRecords]]:
    loaded = stand_in_sources()
    monkeypatch.setattr(training_data, "read_bundled", lambda name: loaded[name])
    return lambda: loaded


def test_prepare_data_four_sources(stand_ins) -> None:
    default = training_data.prepare_data(split_seed=3)
    prepared = training_data.prepare_data(split_seed=3, sources=ALL_SOURCES)
    assert prepared.loaded_by_source == {"mp2026": 85, "mp2023_elatbot": 20, "dejong2015": 30, "mp2025_binary": 30}
    counts = prepared.report.counts_by_source
    assert counts["mp2023_elatbot"]["stiffness_out_of_range"] == 1 and counts["mp2026"]["frame_inconsistent"] == 1
    assert default.report.counts["stiffness_out_of_range"] == 0 and default.report.n_kept == 80  # no limit there
    assert prepared.deduplication.source_order == ALL_SOURCES
    assert {r.source for r in prepared.records.values() if r.material_id in {"mp-1", "mp-31", "mp-51"}} == {"mp2026"}
    assert prepared.source_of["mp-4"] == "dejong2015" and prepared.source_of["mp-0"] == "dejong2015"  # not in MP 2026
    for part in PARTS:  # every material of the default split keeps its part
        assert set(default.split.part(part)) & set(prepared.records) <= set(prepared.split.part(part))
    assert set(prepared.split.from_reference) == set(default.records) & set(prepared.records)
    assert "mp-32" in default.records and "mp-32" not in prepared.records  # the stiff ElaTBot tensor (no MP 2026 twin)
    assert prepared.split == training_data.prepare_data(split_seed=3, sources=ALL_SOURCES).split
    assert default.split.from_reference == () and default.deduplication.source_order == SOURCES


def test_cli_prepare_dataset_mp_all(stand_ins, tmp_path) -> None:
    from stn_plugin.cli.data import BundledDataset
    from stn_plugin.cli.main import app

    assert {d.value for d in BundledDataset} == set(BUNDLED_DATASETS)
    runner = CliRunner(env={"COLUMNS": "200"})
    out = tmp_path / "prepared-all"
    result = runner.invoke(app, ["data", "prepare", "--dataset", "mp-all", "--output", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stderr.splitlines() if line.strip().startswith("reason"))
    assert header.split() == ["reason", "total", "mp2026", "mp2023_elatbot", "dejong2015", "mp2025_binary"]
    assert "stiffness_out_of_range" in result.stderr and "tensor_over_moduli_only" in result.stderr
    assert "keep their part of the default split (seed 3)" in result.stderr
    assert "mp2026" in result.stdout  # the table per source
    conflict = runner.invoke(app, ["data", "prepare", "--dataset", "mp-all", "--source", "dejong2015"])
    assert conflict.exit_code == 2 and "--dataset" in conflict.stderr


def test_unknown_source_names_the_four() -> None:
    with pytest.raises(ValueError, match="mp2026"):
        training_data.load_records(None, ["mp2027"])


def test_bundled_datasets() -> None:
    assert BUNDLED_DATASETS == {"bundled": SOURCES, "mp-all": ALL_SOURCES}
    assert set(ALL_SOURCES) == {*SOURCES, "mp2026"} and np.all([s in ALL_SOURCES for s in SOURCES])


def test_training_on_the_four_source_data(stand_ins, tmp_path) -> None:
    """`train(dataset="mp-all")` trains on the split of `prepare_data(sources=ALL_SOURCES)` (the default split's
    parts kept); `dataset` with `data`, or an unknown name, is refused before anything is written."""
    from stn_plugin.training import train
    from tests.test_training_helpers import tiny_config

    config = tiny_config(max_epochs=1, teacher_forcing_epochs=0)
    result = train(
        config=config, dataset="mp-all", split_seed=3, output_dir=tmp_path / "run", track=False, cache_dir=None
    )
    expected = training_data.prepare_data(split_seed=3, sources=ALL_SOURCES).split
    saved = json.loads((tmp_path / "run" / "split.json").read_text())
    assert {part: sorted(saved[part]) for part in PARTS} == {part: sorted(expected.part(part)) for part in PARTS}
    assert result.counts["train"] + result.counts["train_moduli_only"] == len(expected.part("train"))
    with pytest.raises(ValueError, match="cannot be combined with data"):
        train(config=config, dataset="mp-all", data=tmp_path / "x.jsonl", output_dir=tmp_path / "r2", track=False)
    with pytest.raises(ValueError, match="unknown dataset 'mp-2099'"):
        train(config=config, dataset="mp-2099", output_dir=tmp_path / "r3", track=False)
    assert not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()
