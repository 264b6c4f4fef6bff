"""Loading saved models and training checkpoints without running code from the files.

A saved model directory (matgl ``IOMixIn.save`` format) holds ``model.json`` (class and constructor
arguments), ``model.pt`` (constructor arguments) and ``state.pt`` (weights). matgl's own loader unpickles the
``.pt`` files with ``torch.load(weights_only=True)``, but it also imports the module and calls the class that
``model.json`` names, and calls any ``{"@module", "@class", "init_args"}`` entry of ``model.pt``: a tampered
directory could make it run e.g. ``os.system``. :func:`load_model_dir` therefore checks the files first:

* every file is read with :func:`safe_torch_load` (weights only: tensors and plain values; a pickle that would
  import or call anything is refused with :class:`UnsafeModelFileError`);
* ``model.json`` must name one of the model classes of this package (:data:`stn_plugin.models.MODEL_CLASSES`);
* ``model.pt`` must be a plain mapping of constructor arguments, without nested ``@class`` objects;

and only then hands the directory to the class's ``load`` (matgl ``IOMixIn.load``). A missing, truncated or
corrupted file raises :class:`ModelFileError` naming the file, the problem and the fix.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from stn_plugin.models.base import StnModel

MODEL_FILES: tuple[str, ...] = ("model.json", "model.pt", "state.pt")
"""Files of a saved model directory (matgl ``IOMixIn.save``)."""

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


def _model_class(model_json: Path, fix: str) -> type[StnModel]:
    """The model class named by ``model.json``, if it is one of this package's architectures."""
    from stn_plugin.models import MODEL_CLASSES

    try:
        description = json.loads(model_json.read_text(encoding="utf-8"))
        module, name = description["@module"], description["@class"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            model_json, f"not a model description (truncated or edited? {type(exc).__name__}: {exc})", fix
        ) from exc
    known = {(cls.__module__, cls.__name__): cls for cls in MODEL_CLASSES}
    if (module, name) not in known:
        raise UnsafeModelFileError(
            model_json,
            f"refused to load: it names {module}.{name}, which is not a model of this package "
            f"({', '.join(f'{m}.{n}' for m, n in known)}); loading it would import and call that code",
            UNSAFE_FIX,
        )
    return known[(module, name)]


def load_model_dir(path: str | Path) -> StnModel:
    """Load a saved model directory after the safety checks of the module docstring.

    Args:
        path: folder with ``model.json``, ``model.pt`` and ``state.pt``.

    Raises:
        UnsafeModelFileError: a file would import or call code when loaded.
        ModelFileError: a file is missing, truncated, corrupted, or does not fit the model it describes.
    """
    folder = Path(path)
    fix = f"Save the model again or copy the complete directory ({', '.join(MODEL_FILES)}) again."
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFileError(folder, f"not a saved model directory: {', '.join(missing)} missing", fix)
    cls = _model_class(folder / "model.json", fix)
    arguments = safe_torch_load(folder / "model.pt", fix)
    if not isinstance(arguments, dict) or any(isinstance(v, dict) and "@class" in v for v in arguments.values()):
        raise UnsafeModelFileError(
            folder / "model.pt",
            "refused to load: it is not a plain mapping of constructor arguments (it holds objects for the loader "
            "to construct)",
            UNSAFE_FIX,
        )
    safe_torch_load(folder / "state.pt", fix)
    try:
        return cls.load(folder)
    except Exception as exc:  # constructor or state-dict mismatch: any error means inconsistent files
        raise ModelFileError(
            folder, f"the files do not fit together ({type(exc).__name__}: {str(exc).strip().splitlines()[0]})", fix
        ) from exc
