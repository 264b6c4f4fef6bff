"""The folder of the on-disk graph cache: where it is, its size limit, what it holds, eviction and clearing.

Training stores every prepared material (canonical cell and edge list, :mod:`stn_plugin.graph.cache`) as one
``<64 hex digits>.npz`` file in this folder, so a second training on the same data skips building the graphs.
The folder is ``$STN_PLUGIN_CACHE``, else ``~/.cache/stn_plugin``; ``stn models train --cache-dir`` chooses
another one for a run. It holds at most ``$STN_PLUGIN_CACHE_MAX_MB`` megabytes (default
:data:`DEFAULT_MAX_MB`): past that, the least recently used files are removed first. Only files named like
cache entries are counted, evicted or cleared, so a folder given by mistake loses nothing else.

This module needs neither torch nor pymatgen (``stn cache info`` and ``stn cache clear`` stay fast).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_DIR_VARIABLE: str = "STN_PLUGIN_CACHE"
"""Environment variable naming the cache folder."""

CACHE_MAX_MB_VARIABLE: str = "STN_PLUGIN_CACHE_MAX_MB"
"""Environment variable holding the size limit in megabytes (10**6 bytes)."""

DEFAULT_MAX_MB: int = 2000
"""Size limit without ``$STN_PLUGIN_CACHE_MAX_MB``: about 130,000 entries (a cache filled by trainings on the
bundled and ``mp-all`` data held 12,372 entries in 184 MB, 15 kB each)."""

EVICTION_TARGET: float = 0.9
"""Eviction removes files until the folder holds at most this fraction of the limit (room for the next writes)."""

ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.npz")
"""Name of a cache entry: the hex SHA-256 cache key and ``.npz``."""


@dataclass(frozen=True)
class CacheUsage:
    """Cache entries of a folder: their number and total size in bytes."""

    directory: Path
    files: int
    bytes: int

    @property
    def megabytes(self) -> float:
        """``bytes`` in MB (10**6 bytes)."""
        return self.bytes / 1e6


def default_cache_dir() -> Path:
    """``$STN_PLUGIN_CACHE`` (``~`` expanded), else ``~/.cache/stn_plugin``."""
    value = os.environ.get(CACHE_DIR_VARIABLE)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "stn_plugin"


def max_cache_bytes() -> int:
    """The size limit in bytes: ``$STN_PLUGIN_CACHE_MAX_MB`` megabytes, else :data:`DEFAULT_MAX_MB`.

    Raises:
        ValueError: the variable is not a positive number.
    """
    value = os.environ.get(CACHE_MAX_MB_VARIABLE)
    if not value:
        return DEFAULT_MAX_MB * 10**6
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = float("nan")
    if not megabytes > 0 or megabytes == float("inf"):
        raise ValueError(f"{CACHE_MAX_MB_VARIABLE}={value!r}: give the graph cache's size limit in MB, e.g. 2000.")
    return int(megabytes * 10**6)


def _entries(directory: Path) -> list[tuple[float, int, Path]]:
    """(modification time, size, path) of every cache entry in ``directory`` (none when it does not exist)."""
    found = []
    try:
        with os.scandir(directory) as listing:
            for entry in listing:
                if not ENTRY_NAME.fullmatch(entry.name):
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:  # removed by another process meanwhile
                    continue
                found.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    except FileNotFoundError:
        return []
    return found


def cache_usage(directory: str | os.PathLike[str]) -> CacheUsage:
    """Number and total size of the cache entries in ``directory``."""
    entries = _entries(Path(directory))
    return CacheUsage(Path(directory), len(entries), sum(size for _, size, _ in entries))


def _remove(entries: list[tuple[float, int, Path]], directory: Path) -> CacheUsage:
    """Delete ``entries``; returns what was removed (files removed by another process meanwhile not counted)."""
    files = size = 0
    for _, entry_size, path in entries:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        files, size = files + 1, size + entry_size
    return CacheUsage(directory, files, size)


def clear_cache(directory: str | os.PathLike[str]) -> CacheUsage:
    """Delete every cache entry in ``directory`` (other files stay); returns what was removed."""
    return _remove(_entries(Path(directory)), Path(directory))


def evict_oldest(directory: str | os.PathLike[str], max_bytes: int) -> CacheUsage:
    """When the entries of ``directory`` exceed ``max_bytes``, delete the least recently used ones (oldest
    modification time; reading an entry renews it) until at most :data:`EVICTION_TARGET` of ``max_bytes`` is
    left; returns what was removed."""
    directory = Path(directory)
    entries = sorted(_entries(directory))
    total = sum(size for _, size, _ in entries)
    if total <= max_bytes:
        return CacheUsage(directory, 0, 0)
    doomed, target = [], EVICTION_TARGET * max_bytes
    for entry in entries:
        if total <= target:
            break
        doomed.append(entry)
        total -= entry[1]
    removed = _remove(doomed, directory)
    logger.info(
        "Graph cache %s exceeded its limit of %.0f MB (%s): removed the %d least recently used files (%.1f MB).",
        directory,
        max_bytes / 1e6,
        CACHE_MAX_MB_VARIABLE,
        removed.files,
        removed.megabytes,
    )
    return removed
