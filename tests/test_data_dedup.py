"""De-duplication across sources: same id, StructureMatcher within one reduced formula, preference rules."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from pymatgen.core.operations import SymmOp
from scipy.spatial.transform import Rotation

from stn_plugin.data.dedup import deduplicate
from stn_plugin.data.records import ElasticRecord

from .fixtures.factories import TEST_PROVENANCE, cubic_tensor


def rocksalt() -> Structure:
    """NaCl, conventional cubic cell (8 atoms)."""
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return Structure(Lattice.cubic(5.64), ["Na"] * 4 + ["Cl"] * 4, np.vstack([fcc, (fcc + 0.5) % 1.0]))


def recelled(structure: Structure) -> Structure:
    """The same crystal in another cell and orientation: primitive cell, 2x1x1 supercell, random rotation."""
    copy = structure.get_primitive_structure()
    copy.make_supercell([2, 1, 1])
    rotation = Rotation.random(random_state=3).as_matrix()
    copy.apply_operation(SymmOp.from_rotation_and_translation(rotation, np.zeros(3)))
    return copy


def record(material_id: str, source: str, structure: Structure, tensor: bool = True) -> ElasticRecord:
    fields = {"elastic_tensor": cubic_tensor()} if tensor else {"k_vrh": 25.0, "g_vrh": 15.0}
    return ElasticRecord(
        material_id=material_id,
        formula=structure.composition.reduced_formula,
        structure=structure,
        provenance=TEST_PROVENANCE,
        source=source,
        **fields,
    )


def test_same_id_tensor_wins_over_moduli_only() -> None:
    """Same id (structures need not match): the tensor record is kept, wherever it is in the input."""
    records = [record("mp-5", "mp2025_binary", rocksalt(), tensor=False), record("mp-5", "mp2023_elatbot", rocksalt())]
    kept, report = deduplicate(records)
    assert [(r.material_id, r.source) for r in kept] == [("mp-5", "mp2023_elatbot")]
    (entry,) = report.removed
    assert (entry.removed_id, entry.removed_source, entry.kept_id, entry.kept_source, entry.match) == (
        "mp-5",
        "mp2025_binary",
        "mp-5",
        "mp2023_elatbot",
        "material_id",
    )
    assert entry.reason == "a record with a tensor is kept over a moduli-only one"


def test_rotated_recelled_copy_under_another_id() -> None:
    copy = recelled(rocksalt())
    assert len(copy) == 4 and not np.allclose(copy.lattice.matrix, rocksalt().lattice.matrix)
    records = [record("mp-99", "mp2025_binary", copy, tensor=False), record("mp-22862", "dejong2015", rocksalt())]
    kept, report = deduplicate(records)
    assert [r.material_id for r in kept] == ["mp-22862"]
    (entry,) = report.removed
    assert (entry.removed_id, entry.kept_id, entry.match) == ("mp-99", "mp-22862", "structure")
    assert "removed mp-99 (mp2025_binary): same structure as mp-22862 (dejong2015)" in report.summary()


def test_between_two_tensor_records_de_jong_is_kept() -> None:
    records = [record("mp-7", "mp2023_elatbot", recelled(rocksalt())), record("mp-8", "dejong2015", rocksalt())]
    kept, report = deduplicate(records)
    assert [r.source for r in kept] == ["dejong2015"]
    assert report.removed[0].rule == "source_order"
    assert report.input_by_source == {"mp2023_elatbot": 1, "dejong2015": 1}
    assert report.kept_by_source == {"dejong2015": 1}


class CountingMatcher(StructureMatcher):
    """StructureMatcher that records the reduced formulas it is asked to compare."""

    def __init__(self) -> None:
        super().__init__()
        self.compared: list[tuple[str, str]] = []

    def fit(self, struct1: Structure, struct2: Structure, **kwargs: object) -> bool:  # type: ignore[override]
        self.compared.append((struct1.composition.reduced_formula, struct2.composition.reduced_formula))
        return super().fit(struct1, struct2, **kwargs)


def test_what_is_compared_and_kept() -> None:
    """Other polymorphs and other formulas stay; records of one source are never compared; input order kept."""
    cscl_type = Structure(Lattice.cubic(3.3), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])  # NaCl in the B2 type
    kcl = rocksalt()
    kcl.replace_species({"Na": "K"})
    records = [
        record("a", "dejong2015", rocksalt()),
        record("b", "dejong2015", recelled(rocksalt())),  # same source: not compared
        record("c", "mp2025_binary", cscl_type, tensor=False),  # another polymorph
        record("d", "mp2025_binary", kcl, tensor=False),  # another formula: never compared
    ]
    matcher = CountingMatcher()
    kept, report = deduplicate(records, matcher=matcher)
    assert [r.material_id for r in kept] == ["a", "b", "c", "d"] and report.removed == ()
    assert set(matcher.compared) == {("NaCl", "NaCl")} and len(matcher.compared) == 2


@pytest.mark.slow
def test_bundled_sources_deduplicate_fast() -> None:
    """docs/data.md: six binaries duplicate a tensor record; well under a minute for the ~3,400 records."""
    from stn_plugin.data.loaders import read_bundled
    from stn_plugin.data.records import SOURCES

    records = [r for source in SOURCES for r in read_bundled(source).records]
    start = time.perf_counter()
    kept, report = deduplicate(records)
    assert time.perf_counter() - start < 60.0
    assert report.kept_by_source == {"dejong2015": 1004, "mp2023_elatbot": 399, "mp2025_binary": 1993}
    assert {(e.removed_id, e.kept_id) for e in report.removed} == {
        ("mp-11516", "mp-432"),
        ("mp-22888", "mp-571166"),
        ("mp-2612", "mp-938"),
        ("mp-12892", "mp-8372"),
        ("mp-12110", "mp-1601"),
        ("mp-1039124", "mp-1038814"),
    }
    assert all(e.match == "structure" and e.removed_source == "mp2025_binary" for e in report.removed)
