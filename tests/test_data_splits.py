"""Stratified, seeded train/val/test splits and the split file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stn_plugin.data.loaders import load_bundled_dataset
from stn_plugin.data.splits import combined_split, load_split, stratified_split

from .fixtures.factories import make_record

SYSTEMS = ("cubic", "hexagonal", "tetragonal", "trigonal", "orthorhombic", "monoclinic", "triclinic")

datasets = st.dictionaries(
    keys=st.text(alphabet="abcdefghij0123456789-", min_size=1, max_size=8),
    values=st.sampled_from(SYSTEMS),
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(systems=datasets, seed=st.integers(0, 2**32 - 1))
def test_split_partitions_and_stratifies(systems: dict[str, str], seed: int) -> None:
    split = stratified_split(systems, seed=seed)
    parts = [set(split.train), set(split.val), set(split.test)]
    assert set.union(*parts) == set(systems)
    assert sum(len(p) for p in parts) == len(systems)  # disjoint
    for system in set(systems.values()):
        members = {k for k, v in systems.items() if v == system}
        counts = split.counts[system]
        assert [len(members & p) for p in parts] == [counts["train"], counts["val"], counts["test"]]
        if len(members) >= 3:
            assert min(counts.values()) >= 1, (system, counts)
            assert abs(counts["val"] - 0.1 * len(members)) <= 1 and abs(counts["test"] - 0.1 * len(members)) <= 1


@settings(max_examples=30, deadline=None)
@given(systems=datasets, seed=st.integers(0, 1000))
def test_split_is_deterministic_and_order_free(systems: dict[str, str], seed: int) -> None:
    reversed_input = dict(reversed(list(systems.items())))
    assert stratified_split(systems, seed=seed) == stratified_split(reversed_input, seed=seed)


def test_seed_changes_split_and_other_systems_are_untouched() -> None:
    systems = {f"c{k}": "cubic" for k in range(50)}
    assert stratified_split(systems, seed=0).test != stratified_split(systems, seed=1).test
    with_hexagonal = systems | {f"h{k}": "hexagonal" for k in range(20)}
    cubic_test = [i for i in stratified_split(with_hexagonal).test if i.startswith("c")]
    assert cubic_test == list(stratified_split(systems).test)


def test_fractions() -> None:
    systems = {f"m{k:03d}": "cubic" for k in range(100)}
    split = stratified_split(systems, fractions=(0.6, 0.2, 0.2), seed=3)
    assert split.counts["cubic"] == {"train": 60, "val": 20, "test": 20}
    assert stratified_split({"a": "cubic", "b": "cubic", "c": "cubic"}).counts["cubic"] == {
        "train": 1,
        "val": 1,
        "test": 1,
    }
    assert stratified_split(systems, fractions=(0.9, 0.0, 0.1)).counts["cubic"]["val"] == 0
    for bad in [(0.8, 0.1, 0.2), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1)]:
        with pytest.raises(ValueError, match="fractions must be three non-negative numbers"):
            stratified_split(systems, fractions=bad)


def test_records_input_and_duplicates() -> None:
    records = [make_record("a"), make_record("b"), make_record("c")]
    assert stratified_split(records).counts == {"cubic": {"train": 1, "val": 1, "test": 1}}
    with pytest.raises(ValueError, match="material id 'a' appears twice"):
        stratified_split([*records, make_record("a")])


def test_save_load_round_trip(tmp_path: Path) -> None:
    split = stratified_split({f"m{k}": s for k, s in enumerate(SYSTEMS * 5)}, seed=7)
    path = split.save(tmp_path / "splits" / "split.json")
    data = json.loads(path.read_text())
    assert set(data) == {"seed", "fractions", "train", "val", "test", "counts", "counts_by_source", "from_reference"}
    assert data["seed"] == 7
    assert load_split(path) == split
    data["val"] = data["val"] + [data["train"][0]]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="split parts train and val share ids"):
        load_split(path)
    assert split.part("test") == split.test
    with pytest.raises(ValueError, match="unknown split part"):
        split.part("holdout")


@pytest.mark.slow
def test_bundled_split_counts() -> None:
    """The per-system counts quoted in docs/data.md (all 1004 bundled records, seed 0)."""
    split = stratified_split(load_bundled_dataset())
    assert split.counts == {
        "cubic": {"train": 306, "val": 38, "test": 38},
        "hexagonal": {"train": 162, "val": 20, "test": 20},
        "tetragonal": {"train": 133, "val": 17, "test": 17},
        "trigonal": {"train": 41, "val": 5, "test": 5},
        "orthorhombic": {"train": 132, "val": 16, "test": 16},
        "monoclinic": {"train": 30, "val": 4, "test": 4},
    }


# --- the combined split of several sources ---

SOURCES = ("dejong2015", "mp2023_elatbot", "mp2025_binary")

multi_source = st.dictionaries(
    keys=st.text(alphabet="abcdefghij0123456789-", min_size=1, max_size=8),
    values=st.tuples(st.sampled_from(SOURCES), st.sampled_from(SYSTEMS)),
    max_size=150,
)


@settings(max_examples=60, deadline=None)
@given(strata=multi_source, seed=st.integers(0, 2**32 - 1))
def test_combined_split_stratifies_by_source_and_system(strata: dict[str, tuple[str, str]], seed: int) -> None:
    """Each source is split exactly as stratified_split splits it alone; counts add up per source and system."""
    split = combined_split(strata, seed=seed)
    parts = {name: set(split.part(name)) for name in ("train", "val", "test")}
    assert set.union(*parts.values()) == set(strata) and sum(map(len, parts.values())) == len(strata)
    for source in {s for s, _ in strata.values()}:
        alone = stratified_split({k: system for k, (s, system) in strata.items() if s == source}, seed=seed)
        for name, ids in parts.items():
            assert sorted(i for i in ids if strata[i][0] == source) == list(alone.part(name))
        assert split.counts_by_source[source] == alone.counts
    for system, counts in split.counts.items():
        assert counts == {
            name: sum(c[system][name] for c in split.counts_by_source.values() if system in c)
            for name in ("train", "val", "test")
        }


@settings(max_examples=20, deadline=None)
@given(strata=multi_source, seed=st.integers(0, 1000))
def test_combined_split_is_deterministic_and_order_free(strata: dict[str, tuple[str, str]], seed: int) -> None:
    assert combined_split(strata, seed=seed) == combined_split(dict(reversed(list(strata.items()))), seed=seed)


def test_combined_split_of_records_and_round_trip(tmp_path: Path) -> None:
    from .fixtures.factories import make_moduli_record

    records = [make_record(f"t{k}", source="dejong2015") for k in range(10)]
    records += [make_moduli_record(f"m{k}") for k in range(10)]
    split = combined_split(records, fractions=(0.6, 0.2, 0.2), seed=1)
    assert split.counts_by_source == {
        "dejong2015": {"cubic": {"train": 6, "val": 2, "test": 2}},
        "mp2025_binary": {"cubic": {"train": 6, "val": 2, "test": 2}},
    }
    assert split.counts == {"cubic": {"train": 12, "val": 4, "test": 4}}
    assert load_split(split.save(tmp_path / "split.json")) == split
    with pytest.raises(ValueError, match="'t0' appears twice"):
        combined_split([*records, make_record("t0", source="mp2023_elatbot")])


@pytest.mark.slow
def test_de_jong_records_keep_the_split_of_main() -> None:
    """Added sources do not move a de Jong 2015 record: seed 0 gives the train/val/test ids of the de Jong-only
    split made before the sources were combined (tests/fixtures/dejong2015_split_seed0.json: the 1003 records
    left by the default filters, split by main's stratified_split)."""
    from stn_plugin.data.loaders import read_bundled

    before = json.loads((Path(__file__).parent / "fixtures" / "dejong2015_split_seed0.json").read_text())
    dejong = [r for r in load_bundled_dataset() if r.material_id != "mp-611426"]  # the one record filtered out
    split = combined_split([*dejong, *read_bundled("mp2023_elatbot").records], seed=0)
    for name in ("train", "val", "test"):
        ids = [i for i in split.part(name) if i in {r.material_id for r in dejong}]
        assert ids == before[name], name
    assert split.counts_by_source["dejong2015"] == before["counts"]
    assert sum(n for c in split.counts_by_source["mp2023_elatbot"].values() for n in c.values()) == 399
