"""stn-plugin: StrainTensorNet as a MatGL model family.

Data flow: structure -> strain (:mod:`stn_plugin.physics.voigt`) -> graph (:mod:`stn_plugin.graph`)
-> networks (:mod:`stn_plugin.models`) -> strain energy density (SED) -> elastic tensor
(:mod:`stn_plugin.physics.sed`) -> moduli (:mod:`stn_plugin.physics.moduli`); :class:`stn_plugin.predictor.ElasticPredictor`
is the saved model that runs this path.

Public surface::

    import stn_plugin
    stn_plugin.list_models()                 # names of the bundled pretrained models
    model = stn_plugin.load("stn-mp-2023")   # or a path to a saved model directory
    result = model.predict_structure(structure)
    matgl.load_model(stn_plugin.pretrained_path("stn-mp-2023"))   # the same files through MatGL
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from stn_plugin.registry import RegistryError, load_registry, pretrained_model_dir
from stn_plugin.runtime import ensure_matgl_importable

if TYPE_CHECKING:
    from stn_plugin.predictor import ElasticPredictor

ensure_matgl_importable()  # before any module imports matgl: a read-only home folder would break that import

logger = logging.getLogger(__name__)

__version__ = "0.1.0"

__all__ = ["RegistryError", "__version__", "list_models", "load", "pretrained_path"]


def list_models() -> list[str]:
    """Names of the pretrained models shipped with the package (``registry.yaml``)."""
    return sorted(load_registry().pretrained)


def pretrained_path(name: str) -> Path:
    """Absolute directory of the bundled pretrained model ``name`` (for ``matgl.load_model``, from any folder).

    The sha256 of each of its files is checked against ``registry.yaml`` first.

    Raises:
        RegistryError: unknown name (the message lists the known names), or a modified file.
    """
    return pretrained_model_dir(name).resolve()


def load(name_or_path: str | os.PathLike[str]) -> ElasticPredictor:
    """Load a pretrained model by registry name, or a saved model directory by path.

    A registry name (a string) resolves to the model bundled in the package, also when a file or folder of that
    name is in the working folder (a warning says how to load that one: ``./name`` or a ``Path``); the sha256 of
    each of its files is checked against ``registry.yaml`` before anything is read. Loading goes through
    :func:`stn_plugin.predictor.loading.load_model_dir`: weights-only unpickling, and only the predictor class of
    this package (and the network classes of folders saved by earlier versions) (no code named by the files is imported or run).

    Raises:
        RegistryError: unknown name (the message lists the known names and the closest match), or a
            bundled file whose hash does not match (``ModelIntegrityError``).
        FileNotFoundError: a path that does not exist.
        ModelFileError: a saved model directory with a missing, truncated or corrupted file;
            ``UnsafeModelFileError`` for a file that would run code when loaded.
    """
    from stn_plugin.predictor.loading import load_model_dir

    text = os.fspath(name_or_path)
    path = Path(text)
    if text in load_registry().pretrained and not isinstance(name_or_path, os.PathLike):
        if path.exists():  # a registry name always means the bundled, sha256-checked model
            logger.warning(
                "%r is a bundled model name: loaded the bundled model, not the %s of that name in the working "
                "folder (load that one with its path, e.g. %r).",
                text,
                "folder" if path.is_dir() else "file",
                f".{os.sep}{text}",
            )
        return load_model_dir(pretrained_model_dir(text), registry_checked=True)
    if path.is_dir():
        return load_model_dir(path)
    if os.sep in text or path.suffix or path.exists():
        raise FileNotFoundError(f"No saved model directory at {path} (expected model.json, model.pt, state.pt).")
    return load_model_dir(pretrained_model_dir(text), registry_checked=True)
