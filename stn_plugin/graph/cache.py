"""Per-material cache of prepared materials (standardised cell + edge list), in memory and on disk.

Keys are SHA-256 hashes of the input structure (lattice, atomic numbers, fractional coordinates,
rounded to 1e-8) and of the preparation settings (edge strategy and parameters, spglib tolerances),
so a changed setting never returns a stale edge list. On disk every material is one ``<key>.npz``
file, written atomically so that several processes can share a directory; the folder's location, size limit and
least-recently-used eviction are :mod:`stn_plugin.disk_cache`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from stn_plugin.disk_cache import default_cache_dir, evict_oldest, max_cache_bytes
from stn_plugin.graph.edges import EdgeList
from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.io import atomic_path

DEFAULT_CACHE_DIR: Path = default_cache_dir()
"""Default on-disk cache directory (``$STN_PLUGIN_CACHE`` when this module is imported, else ``~/.cache/stn_plugin``)."""

CACHE_FORMAT: int = 5
"""Bumped whenever the stored arrays or their meaning change (2: ``cell_radius`` became the box alone;
3: cells and edges in the canonical frame, unique orientation; 4: graphs on the primitive cell, the point group
stored; 5: orientation candidates only among exact lattice operations, the point group from spglib's tables)."""


def cache_key(structure: Structure, settings: dict[str, Any]) -> str:
    """Hex SHA-256 of a structure and the JSON-serialisable preparation settings."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": CACHE_FORMAT, **settings}, sort_keys=True).encode())
    digest.update(np.round(structure.lattice.matrix, 8).tobytes())
    digest.update(np.asarray(structure.atomic_numbers, dtype=np.int64).tobytes())
    digest.update(np.round(structure.frac_coords, 8).tobytes())
    return digest.hexdigest()


class MaterialCache:
    """Memory and (optionally) disk cache of ``PreparedMaterial`` objects.

    Args:
        directory: folder for ``<key>.npz`` files; None keeps the cache in memory only.
        in_memory: also keep every loaded or stored material in a dict (fast repeated access; memory
            grows with the number of edges, about 40 bytes per edge).
        max_bytes: size limit of the folder's cache entries; None = ``$STN_PLUGIN_CACHE_MAX_MB``
            (:func:`stn_plugin.disk_cache.max_cache_bytes`). Checked at the first write and after every tenth
            of the limit written; the least recently used entries go first
            (:func:`~stn_plugin.disk_cache.evict_oldest`).
    """

    def __init__(
        self, directory: str | Path | None = DEFAULT_CACHE_DIR, in_memory: bool = True, max_bytes: int | None = None
    ) -> None:
        self.directory = None if directory is None else Path(directory)
        self.in_memory = in_memory
        self.max_bytes = max_cache_bytes() if max_bytes is None else max_bytes
        self._memory: dict[str, PreparedMaterial] = {}
        self._written_since_check: int | None = None  # None: the folder's size is not checked yet

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> PreparedMaterial | None:
        """The cached material for ``key``, or None."""
        if key in self._memory:
            return self._memory[key]
        if self.directory is None:
            return None
        path = self._path(key)
        try:
            with np.load(path) as f:
                material = PreparedMaterial(
                    lattice=f["lattice"],
                    atomic_numbers=f["atomic_numbers"],
                    frac_coords=f["frac_coords"],
                    edges=EdgeList(f["src"], f["dst"], f["images"]),
                    rotation=f["rotation"],
                    point_group=f["point_group"],
                )
        except FileNotFoundError:  # never stored, or evicted (also by another process)
            return None
        with contextlib.suppress(OSError):  # a read-only folder keeps its order of use
            os.utime(path)  # recently used: evicted last
        if self.in_memory:
            self._memory[key] = material
        return material

    def put(self, key: str, material: PreparedMaterial) -> None:
        """Store a material in memory and, when a directory is set, on disk."""
        if self.in_memory:
            self._memory[key] = material
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                lattice=material.lattice,
                atomic_numbers=material.atomic_numbers,
                frac_coords=material.frac_coords,
                src=material.edges.src,
                dst=material.edges.dst,
                images=material.edges.images,
                rotation=material.rotation,
                point_group=material.point_group,
            )
            written = f.tell()
        if self._written_since_check is None or self._written_since_check + written > self.max_bytes // 10:
            evict_oldest(self.directory, self.max_bytes)
            self._written_since_check = 0
        else:
            self._written_since_check += written
