"""List development-log references in the product documentation; exit 1 if there are any.

README.md, docs/*.md and the model cards
(stn_plugin/pretrained/*/README.md) describe the product as it is. History (sessions, issues, rounds, commits,
dates of changes, "was 9.40 GPa", "the previous default", retired models) belongs in git. The checker prints
``path:line: text`` for every match and also fails when docs/RESULTS.md is longer than 300 lines.

Usage (from the repository root)::

    python scripts/check_docs.py             # the default file set
    python scripts/check_docs.py FILE ...    # these files only
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAX_RESULTS_LINES = 300
"""docs/RESULTS.md: one current table per topic fits in this many lines."""

PATTERNS: dict[str, str] = {
    "work session": r"\bsessions?[ -]\d+(\s*(-|–|to|and)\s*\d+)?\b",
    "issue number": r"\bissues? #?\d+(\s*(,|and|&)\s*#?\d+)*\b|\(#\d+\)",
    "work round": r"\b(work )?rounds? \d+\b",
    "work item": r"\bwork items?\b",
    "commit id": r"\bcommits? [0-9a-f]{7,40}\b|\bworktree of [0-9a-f]{7,40}\b|\bgit archive [0-9a-f]{7,40}\b",
    "earlier version": (
        r"\b(previous(ly)?|earlier|former|old) (shipped |bundled )?"
        r"(default|models?|committees?|versions?|single networks?|members?|test split|tolerance|code)\b"
    ),
    "change account": r"\bbefore the( \S+){0,5}? (change|changes|fix|redesign|rework|retraining)\b",
    "old value": r"\bwas \d+(\.\d+)? ?(GPa|ms|s|min|%|meV)|\(was\b|\bwas -> ",
    "value change": r"\d(\.\d+)? ?-> ?\d+(\.\d+)? ?(GPa|ms|%|meV)",
    "today": r"\btoday's (default|model|committee|networks?)\b|\bthe new (default|committee|networks?|models?)\b",
    "dated change": r"\b(since|until|from|of|before|after) 20\d\d-\d\d-\d\d\b",
    "re-shipping": r"\bre-?ship(ped|ping)?\b",
    "retired model": (r"\bstn-mp-2023-(committee|dft-committee|nobond-committee|v1)\b|\bstn-dejong2015-committee\b"),
    "before/now": r"\bno longer\b|\bas before\b|\bnow (is|are|reads?|gives?|uses?) ",
}
"""What a development-log reference looks like; each pattern is matched case-insensitively, line by line.
Physics text ("the strain before relaxation", "C11 -> C33", "P4/mmm -> Pm-3m") passes: the patterns want a
session / issue / round number, a commit id, a unit after an old value, or a named earlier model."""

_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in PATTERNS.items()}


@dataclass(frozen=True)
class Reference:
    path: str
    line: int
    kinds: tuple[str, ...]
    text: str
    start: int = 0
    """Where the first match starts in ``text``."""

    def excerpt(self, width: int = 140) -> str:
        text = self.text.strip()
        if len(text) <= width:
            return text
        offset = len(self.text) - len(self.text.lstrip())
        start = max(0, min(self.start - offset - width // 3, len(text) - width))
        return ("..." if start else "") + text[start : start + width] + ("..." if start + width < len(text) else "")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.excerpt()}  [{', '.join(self.kinds)}]"


def find_in_text(text: str, path: str = "<text>") -> list[Reference]:
    """Every line of ``text`` with a development-log reference, with the kinds of reference found on it."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        matches = [(match.start(), kind) for kind, pattern in _COMPILED.items() if (match := pattern.search(line))]
        if matches:
            found.append(Reference(path, number, tuple(kind for _, kind in matches), line, min(matches)[0]))
    return found


def default_paths(root: Path = ROOT) -> list[Path]:
    """README.md, docs/*.md and the model cards stn_plugin/pretrained/*/README.md."""
    paths = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    paths += sorted((root / "stn_plugin" / "pretrained").glob("*/README.md"))
    return [path for path in paths if path.exists()]


def find_references(paths: Iterable[Path], root: Path = ROOT) -> list[Reference]:
    """Development-log references in the given files (paths printed relative to ``root``)."""
    found = []
    for path in paths:
        try:
            name = str(Path(path).resolve().relative_to(root))
        except ValueError:
            name = str(path)
        found += find_in_text(Path(path).read_text(encoding="utf-8"), name)
    return found


def results_too_long(root: Path = ROOT) -> str | None:
    """A message when docs/RESULTS.md has more than MAX_RESULTS_LINES lines, else None."""
    results = root / "docs" / "RESULTS.md"
    if not results.exists():
        return None
    lines = len(results.read_text(encoding="utf-8").splitlines())
    if lines > MAX_RESULTS_LINES:
        return f"docs/RESULTS.md: {lines} lines, more than {MAX_RESULTS_LINES}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(arg) for arg in args] if args else default_paths()
    found = find_references(paths)
    for reference in found:
        print(reference)
    too_long = results_too_long()
    if too_long:
        print(too_long)
    if found or too_long:
        print(f"{len(found)} development-log reference(s) in {len({r.path for r in found})} file(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
