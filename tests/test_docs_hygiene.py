"""README, docs and the model cards describe the product, not its history (scripts/check_docs.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("check_docs", ROOT / "scripts" / "check_docs.py")
assert _spec is not None and _spec.loader is not None
check_docs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("check_docs", check_docs)
_spec.loader.exec_module(check_docs)

CHECKED = check_docs.default_paths(ROOT)


def test_the_checked_files_exist() -> None:
    names = {str(path.relative_to(ROOT)) for path in CHECKED}
    assert {"README.md", "docs/RESULTS.md"} <= names
    assert {"stn_plugin/pretrained/stn-mp-2023/README.md", "stn_plugin/pretrained/stn-mp-2023-fast/README.md"} <= names


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_development_log_references(path: Path) -> None:
    found = check_docs.find_references([path], ROOT)
    assert not found, "\n".join(map(str, found))


PLANTED = [
    "As measured in session 25, the default is faster.",
    "Sessions 21-23 shipped another committee.",
    "## Hostile input (issue 17)",
    "the rule of issues 12 and 14 applies",
    "see issue #8 for details",
    "In round 3 the loss changed.",
    "This closes work item 4.",
    "the script of commit 3a685a1 (de Jong data only)",
    "Against the previous default it is level on C_ij.",
    "the weights of the previously shipped model",
    "an earlier committee's tensors",
    "before the canonical-cell fix the rows differed",
    "C_ij MAE was 9.40 GPa on validation",
    "the forward took 52 ms (was 60)",
    "graph building 29 -> 20 ms per material",
    "the same cost as today's default",
    "The new default is better on B_V.",
    "the default stn-mp-2023 of 2026-12-01",
    "kept under this name since 2026-12-02",
    "Re-shipped with the bond terms.",
    "compared with stn-mp-2023-committee",
    "A stray file no longer makes the name unusable.",
]


@pytest.mark.parametrize("phrase", PLANTED)
def test_the_checker_finds_planted_phrases(phrase: str) -> None:
    text = f"Normal physics text.\n{phrase}\nMore normal text.\n"
    found = check_docs.find_in_text(text, "planted.md")
    assert found and {reference.line for reference in found} == {2}, phrase


CLEAN = [
    "C11 / C33 / C44 = 439 / 358 / 96 GPa against DFT 904 / 8 / 2.",
    "spglib finds P4/mmm -> Pm-3m at 0.1 Angstrom.",
    "structure -> strain -> graph -> model -> SED -> C",
    "The strain energy before relaxation of the ions is Eq. 2.",
    "Eq. 3 turns the 21 predicted U_ij into C; Table II reports 10.4 GPa.",
    "The default model is `stn-mp-2023`; `stn-mp-2023-fast` is one network.",
    "a baseline committee without bond terms (not bundled)",
    "step = epoch; the cosine schedule runs 45 epochs",
]


@pytest.mark.parametrize("sentence", CLEAN)
def test_physics_text_passes(sentence: str) -> None:
    assert check_docs.find_in_text(sentence) == []


def test_results_fits_in_300_lines() -> None:
    lines = len((ROOT / "docs" / "RESULTS.md").read_text().splitlines())
    assert lines <= check_docs.MAX_RESULTS_LINES == 300
    assert check_docs.results_too_long(ROOT) is None


def test_main_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirty = tmp_path / "dirty.md"
    dirty.write_text("fine\nas in session 12\n")
    clean = tmp_path / "clean.md"
    clean.write_text("fine\n")
    assert check_docs.main([str(clean)]) == 0
    assert check_docs.main([str(dirty)]) == 1
    assert "dirty.md:2: as in session 12" in capsys.readouterr().out
