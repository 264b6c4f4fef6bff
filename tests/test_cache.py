"""The graph cache folder: its place (variable, option), size limit with least-recently-used eviction, and
`stn cache info|clear`."""

from __future__ import annotations

import importlib
import os

import pytest
from pymatgen.core import Lattice, Structure
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from stn_plugin.disk_cache import cache_usage, clear_cache, default_cache_dir, evict_oldest, max_cache_bytes

runner = CliRunner(env={"COLUMNS": "200"})

SILICON = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])


def fake_entries(folder, sizes: list[int]) -> list:
    """Cache entries of the given sizes, the first the least recently used (modification times 1000 s apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, size in enumerate(sizes):
        path = folder / f"{k:064x}.npz"
        path.write_bytes(b"x" * size)
        os.utime(path, (1e9 + 1000 * k, 1e9 + 1000 * k))
        paths.append(path)
    return paths


def test_folder_and_limit_come_from_the_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("STN_PLUGIN_CACHE", str(tmp_path / "graphs"))
    monkeypatch.setenv("STN_PLUGIN_CACHE_MAX_MB", "0.5")
    assert default_cache_dir() == tmp_path / "graphs" and max_cache_bytes() == 500_000
    monkeypatch.delenv("STN_PLUGIN_CACHE")
    monkeypatch.delenv("STN_PLUGIN_CACHE_MAX_MB")
    assert default_cache_dir().parts[-2:] == (".cache", "stn_plugin") and max_cache_bytes() == 2000 * 10**6
    for bad in ("lots", "0", "-5", "inf"):
        monkeypatch.setenv("STN_PLUGIN_CACHE_MAX_MB", bad)
        with pytest.raises(ValueError, match="STN_PLUGIN_CACHE_MAX_MB"):
            max_cache_bytes()


def test_usage_clear_and_eviction_touch_only_cache_entries(tmp_path):
    entries = fake_entries(tmp_path, [100, 200, 300, 400])
    others = [tmp_path / "notes.npz", tmp_path / f".tmp-abc-{'f' * 64}.npz", tmp_path / "README"]
    for path in others:
        path.write_bytes(b"y" * 1000)
    assert cache_usage(tmp_path).files == 4 and cache_usage(tmp_path).bytes == 1000
    assert evict_oldest(tmp_path, max_bytes=1000).files == 0  # at the limit: nothing to do
    removed = evict_oldest(tmp_path, max_bytes=800)  # down to 90 %: the two least recently used go
    assert (removed.files, removed.bytes) == (2, 300)
    assert [path.exists() for path in entries] == [False, False, True, True]
    assert clear_cache(tmp_path).files == 2 and cache_usage(tmp_path).files == 0
    assert all(path.exists() for path in others)
    assert cache_usage(tmp_path / "missing").files == 0 and clear_cache(tmp_path / "missing").files == 0


def test_material_cache_stays_under_its_limit_and_keeps_what_was_read_last(tmp_path):
    from stn_plugin.graph import MaterialCache, StrainedGraphConverter

    material = StrainedGraphConverter(edges="radius").prepare(SILICON)
    probe = MaterialCache(tmp_path / "probe", in_memory=False)
    probe.put("e" * 64, material)
    size = cache_usage(tmp_path / "probe").bytes
    cache = MaterialCache(tmp_path / "graphs", in_memory=False, max_bytes=int(2.5 * size))
    keys = [f"{k:064x}" for k in range(3)]
    cache.put(keys[0], material)
    cache.put(keys[1], material)
    for k, key in enumerate(keys[:2]):
        os.utime(tmp_path / "graphs" / f"{key}.npz", (1e9 + k, 1e9 + k))
    assert cache.get(keys[0]) is not None  # read: now the most recently used
    cache.put(keys[2], material)  # 3 entries > 2.5: the least recently used one goes
    assert [(tmp_path / "graphs" / f"{key}.npz").exists() for key in keys] == [True, False, True]
    assert cache.get(keys[1]) is None  # evicted: built again by the caller


def test_cache_info_and_clear_commands(tmp_path):
    folder = tmp_path / "graphs"
    fake_entries(folder, [1_500_000, 500_000])
    (folder / "keep.txt").write_text("not a cache entry")
    shown = runner.invoke(app, ["cache", "info", "--cache-dir", str(folder)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        f"folder: {folder.resolve()}",
        "files: 2",
        "size: 2.0 MB",
        "limit: 2000 MB ($STN_PLUGIN_CACHE_MAX_MB)",
    ]
    cleared = runner.invoke(app, ["cache", "clear", "--cache-dir", str(folder)])
    assert cleared.exit_code == 0, cleared.output
    assert f"removed 2 files (2.0 MB) from {folder.resolve()}" in cleared.stderr
    assert (folder / "keep.txt").exists() and cache_usage(folder).files == 0


def test_cache_commands_follow_the_variables(tmp_path):
    folder = tmp_path / "elsewhere"
    env = {"STN_PLUGIN_CACHE": str(folder), "STN_PLUGIN_CACHE_MAX_MB": "50"}
    shown = runner.invoke(app, ["cache", "info"], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"folder: {folder.resolve()} (does not exist yet)" in shown.stdout and "limit: 50 MB" in shown.stdout
    bad = runner.invoke(app, ["cache", "info"], env={**env, "STN_PLUGIN_CACHE_MAX_MB": "big"})
    assert bad.exit_code == 1 and "STN_PLUGIN_CACHE_MAX_MB='big'" in bad.stderr


def test_train_cache_dir_option_places_the_cache(tmp_path, monkeypatch):
    seen = {}

    def fake_train(*args, **kwargs):
        seen.update(kwargs)
        raise ValueError("stopped before training")

    monkeypatch.setattr(importlib.import_module("stn_plugin.training.train"), "train", fake_train)
    folder = tmp_path / "graphs"
    result = runner.invoke(app, ["models", "train", "strain-tensor-net", "--cache-dir", str(folder)])
    assert result.exit_code == 1 and "stopped before training" in result.stderr
    assert seen["cache_dir"] == folder
    seen.clear()
    runner.invoke(app, ["models", "train", "strain-tensor-net"])
    assert "cache_dir" not in seen  # no option: train()'s default, $STN_PLUGIN_CACHE or ~/.cache/stn_plugin
