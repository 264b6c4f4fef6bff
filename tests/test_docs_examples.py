"""The Python examples of README.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import stn_plugin

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_runs(index: int) -> None:
    code = BLOCKS[index]
    if "stn-mp-2023" in code and "stn-mp-2023" not in stn_plugin.list_models():
        pytest.skip("the pretrained model stn-mp-2023 is not bundled in this checkout")
    exec(compile(code, f"README.md[python block {index}]", "exec"), {})
