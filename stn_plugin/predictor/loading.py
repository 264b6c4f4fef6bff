"""Loading saved predictors and training checkpoints without running code from the files.

A saved model directory (matgl ``IOMixIn.save`` format of an :class:`~stn_plugin.predictor.ElasticPredictor`)
holds ``model.json`` (class and constructor arguments), ``model.pt`` (constructor arguments) and ``state.pt``
(weights). matgl's own loader unpickles the
``.pt`` files with ``torch.load(weights_only=True)``, but it also imports the module and calls the class that
``model.json`` names, and calls any ``{"@module", "@class", "init_args"}`` entry of ``model.pt``: a tampered
directory could make it run e.g. ``os.system``. :func:`load_model_dir` therefore checks the files first:

* every file is read with :func:`safe_torch_load` (weights only: tensors and plain values; a pickle that would
  import or call anything is refused with :class:`UnsafeModelFileError`);
* ``model.json`` must name :class:`~stn_plugin.predictor.ElasticPredictor`, or one of the network classes that
  model folders of earlier versions of this package saved directly (a single network, or ``StnEnsemble``: a
  committee); those are converted on loading by :func:`migrate_network_folder`;
* ``model.pt`` must be a plain mapping of constructor arguments, without nested ``@class`` objects;
* when the directory has a ``checksums.json`` (written by :func:`save_model_dir`: training, ``stn models
  ensemble``), every file must have its sha256 (one flipped byte of ``state.pt`` still unpickles); a directory
  without one (saved before, or by matgl directly) loads with a warning, the bundled models without (their files
  are checked against ``registry.yaml``);

and only then hands the directory to ``ElasticPredictor.load`` (matgl ``IOMixIn.load``). A missing, truncated or
corrupted file raises :class:`ModelFileError` naming the file, the problem and the fix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from stn_plugin.models.config import EncoderConfig
from stn_plugin.predictor.predictor import ElasticPredictor, NormalizationStats

MODEL_FILES: tuple[str, ...] = ("model.json", "model.pt", "state.pt")
"""Files of a saved model directory (matgl ``IOMixIn.save``)."""

MANIFEST_FILE: str = "checksums.json"
"""sha256 of each of :data:`MODEL_FILES`, written by :func:`save_model_dir` and checked by :func:`load_model_dir`."""

logger = logging.getLogger(__name__)

UNSAFE_FIX = (
    "Do not use this file: stn-plugin and matgl write only tensors and plain values. Check where it came from, "
    "and re-download the model or retrain it."
)


class ModelFileError(ValueError):
    """A model file or training checkpoint that cannot be loaded: missing, truncated, corrupted or inconsistent.

    Attributes:
        path: the file (or directory).
        problem: what is wrong.
        fix: what the user can do about it.
    """

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        self.path, self.problem, self.fix = Path(path), problem, fix
        super().__init__(f"{self.path}: {problem}. {fix}")


class UnsafeModelFileError(ModelFileError):
    """A model file that would import or call Python code when loaded; it is refused, nothing of it is run."""


def _refused_object(message: str) -> str:
    """The object name in torch's weights-only refusal, or a short reason."""
    found = re.search(r"GLOBAL (\S+)", message) or re.search(r"(Unsupported operand \d+)", message)
    return found.group(1) if found else message.strip().splitlines()[0]


def safe_torch_load(path: str | Path, fix: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with typed errors.

    Args:
        path: a ``.pt`` / ``.ckpt`` file.
        fix: what the user should do when the file is missing, truncated or corrupted.

    Raises:
        UnsafeModelFileError: the file holds Python objects that weights-only loading refuses (e.g. a pickle
            whose ``__reduce__`` calls ``os.system``); nothing is executed.
        ModelFileError: the file is missing, empty, truncated or not a PyTorch file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "no such file", fix)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise UnsafeModelFileError(
                path,
                f"refused to load: the file holds Python code or objects ({_refused_object(str(exc))}) that safe "
                "(weights-only) loading does not allow",
                UNSAFE_FIX,
            ) from exc
        raise ModelFileError(path, f"the file is corrupted ({exc})", fix) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError... for broken files
        reason = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else "unexpected end of file"
        raise ModelFileError(
            path,
            f"the file is truncated or corrupted, not a readable PyTorch file ({type(exc).__name__}: {reason})",
            fix,
        ) from exc


LEGACY_NETWORK_CLASSES: dict[str, str] = {
    "StrainTensorNet": "stn_plugin.models.straintensornet",
    "MinimalModel": "stn_plugin.models.trial",
    "DcvPooledModel": "stn_plugin.models.trial",
    "DcvNodeModel": "stn_plugin.models.trial",
    "StnEnsemble": "stn_plugin.models.ensemble",
}
"""Classes that model folders of earlier versions of this package name in ``model.json``: a network saved with its
statistics, or a committee of them (:func:`migrate_network_folder` converts them)."""


def _model_class(model_json: Path, fix: str) -> str:
    """``"predictor"`` or ``"legacy"``: what ``model.json`` describes, if it is a model of this package."""
    try:
        description = json.loads(model_json.read_text(encoding="utf-8"))
        module, name = description["@module"], description["@class"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            model_json, f"not a model description (truncated or edited? {type(exc).__name__}: {exc})", fix
        ) from exc
    if (module, name) == (ElasticPredictor.__module__, ElasticPredictor.__name__):
        return "predictor"
    if LEGACY_NETWORK_CLASSES.get(name) == module:
        return "legacy"
    raise UnsafeModelFileError(
        model_json,
        f"refused to load: it names {module}.{name}, which is not a model of this package "
        f"({ElasticPredictor.__module__}.{ElasticPredictor.__name__}); loading it would import and call that code",
        UNSAFE_FIX,
    )


def _legacy_network_config(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A network config of an earlier version without the encoder keys this version no longer has; refused when
    such a key was set to anything but its old default (the network would need code this version lacks)."""
    encoder = dict(config["encoder"])
    retired = {"edge_names_version": 2, "element_descriptors": False, "strain_direction": False}
    for key in set(encoder) - set(EncoderConfig.model_fields):
        if retired.get(key, object()) != encoder.pop(key):
            raise ModelFileError(
                folder,
                f"the network uses the encoder option {key}, which this version of stn-plugin no longer has",
                "Use the stn-plugin version it was trained with, or retrain it.",
            )
    return {**config, "encoder": encoder}


def migrate_network_folder(folder: str | Path, arguments: dict[str, Any], state: dict[str, Any]) -> ElasticPredictor:
    """The :class:`~stn_plugin.predictor.ElasticPredictor` of a model folder saved by an earlier version of this
    package: one network (``StrainTensorNet`` or a Fig. 6 model) with its statistics and strain as constructor
    arguments and buffers, or an ``StnEnsemble`` of them (``members.<k>.`` in the state; each member's own
    statistics in its buffers). The predictions are the same to float round-off.

    Args:
        folder: the folder (for messages).
        arguments: its ``model.pt`` (constructor arguments).
        state: its ``state.pt`` (weights and statistics buffers).
    """
    folder = Path(folder)
    statistic_names = ("atom_scalar_mean", "atom_scalar_std", "sed_mean", "sed_std")
    config = arguments["config"]
    if config.get("architecture") == "ensemble":
        prefixes, configs = [f"members.{k}." for k in range(len(config["members"]))], config["members"]
    else:
        prefixes, configs = [""], [config]
    configs = [_legacy_network_config(c, folder) for c in configs]
    statistics, network_states = [], []
    for prefix in prefixes:
        values = {name: state[prefix + name].tolist() for name in statistic_names}
        statistics.append(NormalizationStats.model_validate(values))
        network_states.append(
            {
                key[len(prefix) :]: value
                for key, value in state.items()
                if key.startswith(prefix) and key[len(prefix) :] not in (*statistic_names, "strain")
            }
        )
    strain = round(float(arguments.get("strain", 0.02)), 6)  # earlier versions saved it from a float32 buffer
    predictor = ElasticPredictor(configs, statistics, strain=strain)
    for network, network_state in zip(predictor.networks, network_states, strict=True):
        network.load_state_dict(network_state)
    return predictor


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model_dir(model: ElasticPredictor, path: str | Path) -> Path:
    """``model.save(path)`` (matgl format) plus :data:`MANIFEST_FILE`, the sha256 of each file; returns the folder."""
    folder = Path(path)
    model.save(folder)
    manifest = {name: _sha256(folder / name) for name in MODEL_FILES}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return folder


def _check_manifest(folder: Path, fix: str, registry_checked: bool) -> None:
    """Compare the files with :data:`MANIFEST_FILE`; warn when there is none (unless checked by the registry)."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        if not registry_checked:
            logger.warning(
                "%s has no %s (saved by an older stn-plugin or by matgl): a corrupted file cannot be detected. "
                "Save the model again with stn_plugin.predictor.save_model_dir to add one.",
                folder,
                MANIFEST_FILE,
            )
        return
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected = {name: str(manifest[name]) for name in MODEL_FILES}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(manifest_path, f"not a checksum manifest ({type(exc).__name__}: {exc})", fix) from exc
    changed = [name for name in MODEL_FILES if _sha256(folder / name) != expected[name]]
    if changed:
        raise ModelFileError(
            folder,
            f"the sha256 of {', '.join(changed)} differs from {MANIFEST_FILE}: the file was changed or corrupted "
            "after the model was saved",
            fix,
        )


def load_model_dir(path: str | Path, registry_checked: bool = False) -> ElasticPredictor:
    """Load a saved model directory after the safety checks of the module docstring.

    Args:
        path: folder with ``model.json``, ``model.pt`` and ``state.pt`` (and ``checksums.json``).
        registry_checked: the files were checked against ``registry.yaml`` (a bundled model): no warning for a
            missing manifest.

    Raises:
        UnsafeModelFileError: a file would import or call code when loaded.
        ModelFileError: a file is missing, truncated, corrupted, or does not fit the model it describes.
    """
    folder = Path(path)
    fix = f"Save the model again or copy the complete directory ({', '.join(MODEL_FILES)}) again."
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFileError(folder, f"not a saved model directory: {', '.join(missing)} missing", fix)
    _check_manifest(folder, fix, registry_checked)
    kind = _model_class(folder / "model.json", fix)
    arguments = safe_torch_load(folder / "model.pt", fix)
    if not isinstance(arguments, dict) or any(isinstance(v, dict) and "@class" in v for v in arguments.values()):
        raise UnsafeModelFileError(
            folder / "model.pt",
            "refused to load: it is not a plain mapping of constructor arguments (it holds objects for the loader "
            "to construct)",
            UNSAFE_FIX,
        )
    state = safe_torch_load(folder / "state.pt", fix)
    try:
        if kind == "legacy":
            return migrate_network_folder(folder, arguments, state)
        return ElasticPredictor.load(folder)
    except Exception as exc:  # constructor or state-dict mismatch: any error means inconsistent files
        raise ModelFileError(
            folder, f"the files do not fit together ({type(exc).__name__}: {str(exc).strip().splitlines()[0]})", fix
        ) from exc
