"""Process-wide settings for fast CPU inference and training (applied by the ``stn`` CLI, opt-in for library users).

PyTorch takes every tensor from ``malloc``. glibc serves large blocks (above a dynamic threshold of 128 kB to
32 MB) with a fresh ``mmap`` and unmaps them on free, so each large intermediate of a forward pass (one
(edges x 256) float32 tensor of 20 materials x 21 strains is 125 MB) is paid for again in page faults when it is
first written. On the project machine (a 2-vCPU VM) those faults cost more than the arithmetic: copying a
47 MB tensor into a fresh allocation took 31 ms, into reused memory 5 ms (measurements of whole predictions and
training epochs: docs/RESULTS.md, "Performance"). :func:`keep_freed_memory` makes glibc serve such blocks from
its heap and keep freed memory for reuse. The same effect without code, for any
process: ``MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
DEFAULT_RETAINED_BYTES: int = 1 << 30
"""1 GiB: blocks up to this size come from the heap, and up to this much freed memory stays mapped."""


def keep_freed_memory(limit_bytes: int = DEFAULT_RETAINED_BYTES) -> bool:
    """Make glibc's malloc keep large freed blocks for reuse instead of unmapping them (``mallopt``).

    Process-wide and permanent: the resident memory stays near its peak (at most ``limit_bytes`` of freed
    memory is kept). Call it once at the start of a program that runs many forward passes.

    Args:
        limit_bytes: mmap and trim threshold in bytes (at most 2**31 - 1).

    Returns:
        True if glibc accepted both settings; False on other platforms or C libraries (nothing changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    limit = int(limit_bytes)
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, limit))


LIGHTNING_TIP_PREFIX = "💡 Tip:"
"""Start of Lightning's advertisements for its cloud services (litlogger, litmodels), logged at INFO."""


class _NoLightningTips(logging.Filter):
    """Drops Lightning's log records that advertise its cloud services."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(LIGHTNING_TIP_PREFIX)


def hide_lightning_tips() -> None:
    """Stop Lightning from printing its "💡 Tip: ... litlogger / litmodels" lines (idempotent, process-wide)."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _NoLightningTips) for f in log.filters):
            log.addFilter(_NoLightningTips())


def ensure_matgl_importable() -> Path:
    """Make ``import matgl`` work when the home folder is read-only (containers, HPC); returns matgl's cache folder.

    matgl creates ``~/.cache/matgl`` when it is imported, and fails with an ``OSError`` where that cannot be
    created. Then matgl's configuration is imported here with ``HOME`` pointing, for that import only, at
    ``<temporary folder>/stn-home-<uid>`` (matgl's cache holds only downloads of matgl's own models, which
    stn-plugin does not use), and a warning names it. Cheap when the home folder is writable (one ``mkdir``).
    """
    cache = Path.home() / ".cache" / "matgl"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        return cache
    except OSError as exc:
        problem = f"{type(exc).__name__}: {exc.strerror or exc}"
    home = Path(tempfile.gettempdir()) / f"stn-home-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    previous = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        import matgl.config
    finally:
        if previous is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = previous
    logger.warning(
        "%s cannot be created (%s); matgl's cache is %s instead. Set HOME to a writable folder to keep it there.",
        cache,
        problem,
        matgl.config.MATGL_CACHE,
    )
    return Path(matgl.config.MATGL_CACHE)
