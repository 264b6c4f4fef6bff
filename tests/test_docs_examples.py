"""The Python examples of README.md are doctests: they run as written and print the numbers the README shows."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import stn_plugin

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples_that_check_outputs() -> None:
    assert len(BLOCKS) >= 2
    for block in BLOCKS:
        examples = doctest.DocTestParser().get_examples(block)
        assert sum(bool(example.want) for example in examples) >= 2  # printed numbers to compare


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_prints_what_the_readme_says(index: int) -> None:
    block = BLOCKS[index]
    if "stn-mp-2023" in block and "stn-mp-2023" not in stn_plugin.list_models():
        pytest.skip("the pretrained model stn-mp-2023 is not bundled in this checkout")
    test = doctest.DocTestParser().get_doctest(block, {}, f"README.md[python block {index}]", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
