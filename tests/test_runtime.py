"""stn_plugin.runtime: the glibc malloc settings the CLI applies for fast CPU inference and training."""

from __future__ import annotations

import platform
import sys

import pytest
import torch

from stn_plugin.runtime import keep_freed_memory


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc mallopt only"
)
def test_keep_freed_memory_is_accepted_by_glibc_and_harmless() -> None:
    assert keep_freed_memory() is True
    x = torch.ones(3_000_000)  # 12 MB, above glibc's default mmap threshold: now from the heap
    assert float((x * 2).sum()) == 6_000_000.0


def test_keep_freed_memory_reports_an_unsupported_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory() is False
