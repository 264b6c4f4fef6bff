"""stn_plugin.runtime: the glibc malloc settings the CLI applies for fast CPU inference and training."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from stn_plugin.runtime import keep_freed_memory

ALLOCATE = """
import ctypes, json, sys

libc = ctypes.CDLL("libc.so.6")


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
if sys.argv[1] == "keep":
    from stn_plugin.runtime import keep_freed_memory

    assert keep_freed_memory()
before = libc.mallinfo2()
block = libc.malloc(64 << 20)
during = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(json.dumps({"mapped": during.hblkhd - before.hblkhd, "heap_kept": after.arena - before.arena}))
"""


def _allocate_64_mib(setting: str) -> dict[str, int]:
    """Growth of glibc's mmapped space while a 64 MiB block lives, and of its heap after the block is freed."""
    done = subprocess.run(
        [sys.executable, "-c", ALLOCATE, setting], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc mallopt only"
)
def test_keep_freed_memory_serves_large_blocks_from_the_heap_and_keeps_them() -> None:
    default = _allocate_64_mib("default")
    assert default["mapped"] >= 64 << 20 and default["heap_kept"] < 1 << 20  # glibc: mmap, unmapped on free
    kept = _allocate_64_mib("keep")
    assert kept["mapped"] == 0 and kept["heap_kept"] > 32 << 20  # from the heap (grown by most of it), kept after free


def test_keep_freed_memory_reports_an_unsupported_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory() is False
