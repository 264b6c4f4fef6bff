"""The model registry (``registry.yaml``): architectures, pretrained models, verified loading.

``registry.yaml`` at the repository root is the source of truth; the wheel ships it as
``stn_plugin/registry.yaml``. A pretrained entry lists every file of the model directory with its
sha256; :func:`load` refuses to load a bundled model whose files do not match.
"""

from __future__ import annotations

import difflib
import hashlib
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field


class RegistryError(LookupError):
    """An unknown model name, or a registry entry that does not match the files on disk."""


class ModelIntegrityError(RegistryError):
    """A bundled model file is missing or its sha256 differs from ``registry.yaml``."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class ArchitectureEntry(_Entry):
    """One model family: its class path, default preset and paper reference."""

    class_path: str = Field(alias="class")
    config_architecture: str
    default_preset: str
    presets: list[str]
    reference: str
    description: str


class PretrainedEntry(_Entry):
    """One shipped model: files with sha256, training data, test metrics with units."""

    architecture: str
    directory: str = Field(description="folder under stn_plugin/pretrained/")
    files: dict[str, str] = Field(description="file name -> sha256 hex digest")
    description: str = ""
    members: int | None = Field(default=None, description="networks whose mean U the model predicts")
    use_when: str = Field(default="", description="when to choose this model, in a few words")
    ms_per_crystal: float | None = Field(
        default=None,
        description="prediction time per crystal in ms, one thread, 8 crystals per batch "
        "(benchmarks/prediction_throughput.py; docs/RESULTS.md, Performance)",
    )
    training_data: dict[str, Any] = Field(default_factory=dict)
    test_metrics: dict[str, Any] = Field(default_factory=dict)
    data_licence: str = ""
    date: str = ""

    def training_crystals(self) -> int | None:
        """Crystals of the training part, summed over the sources of ``training_data`` (None when not given)."""
        counts = [source.get("counts", {}).get("train") for source in self.training_data.get("sources", {}).values()]
        return sum(counts) if counts and all(isinstance(n, int) for n in counts) else None


class Registry(BaseModel):
    """Parsed ``registry.yaml``."""

    model_config = ConfigDict(frozen=True)

    schema_version: int
    architectures: dict[str, ArchitectureEntry]
    pretrained: dict[str, PretrainedEntry] = Field(default_factory=dict)


def pretrained_root() -> Path:
    """Folder holding the bundled model directories (inside the installed package)."""
    return Path(str(files("stn_plugin"))) / "pretrained"


def load_registry(path: str | Path | None = None) -> Registry:
    """Read ``registry.yaml`` (default: the copy shipped with the package)."""
    source = Path(path) if path is not None else Path(str(files("stn_plugin") / "registry.yaml"))
    return Registry.model_validate(yaml.safe_load(source.read_text()))


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unknown(kind: str, name: str, known: list[str]) -> RegistryError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return RegistryError(f"Unknown {kind} {name!r}. Known: {', '.join(sorted(known)) or '(none)'}.{hint}")


def architecture(name: str, registry: Registry | None = None) -> ArchitectureEntry:
    """The registry entry of an architecture, with a helpful error for unknown names."""
    reg = registry or load_registry()
    if name not in reg.architectures:
        raise _unknown("architecture", name, list(reg.architectures))
    return reg.architectures[name]


def pretrained_model_dir(name: str, registry: Registry | None = None, verify: bool = True) -> Path:
    """Directory of a bundled pretrained model, after checking the sha256 of each of its files.

    Raises:
        RegistryError: ``name`` is not a pretrained model (the message lists the known names).
        ModelIntegrityError: a file is missing or its hash differs from ``registry.yaml``.
    """
    reg = registry or load_registry()
    if name not in reg.pretrained:
        raise _unknown("pretrained model", name, list(reg.pretrained))
    entry = reg.pretrained[name]
    folder = pretrained_root() / entry.directory
    if verify:
        for fname, expected in entry.files.items():
            fpath = folder / fname
            if not fpath.is_file():
                raise ModelIntegrityError(f"Model {name!r}: file {fpath} is missing; reinstall stn-plugin.")
            actual = sha256_of(fpath)
            if actual != expected:
                raise ModelIntegrityError(
                    f"Model {name!r}: sha256 of {fname} is {actual}, registry.yaml says {expected}. "
                    "The file was modified or corrupted; refusing to load it. Reinstall stn-plugin."
                )
    return folder
