"""Mechanical (Born) stability of a Voigt stiffness, with the reason when it fails.

A crystal is mechanically stable when its 6x6 Voigt stiffness C is positive definite, i.e. every
eigenvalue of C is positive: the necessary and sufficient Born criterion for any crystal system
(Mouhat & Coudert, Phys. Rev. B 90, 224104 (2014)). Each eigenvector is a strain mode (engineering
Voigt strain xx, yy, zz, yz, xz, xy); a non-positive eigenvalue is a mode that costs no energy, and
the verdict names it. A (numerically) singular C has no compliance: the Reuss and Hill moduli, the
directional moduli and the sound velocities do not exist, and the verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

VOIGT_STRAIN_LABELS: tuple[str, ...] = ("e_xx", "e_yy", "e_zz", "g_yz", "g_xz", "g_xy")
"""Components of a Voigt strain mode (g = engineering shear strain, 2 e_ij)."""

SINGULAR_TOLERANCE = 1e-8
"""|smallest eigenvalue| <= this times the largest |eigenvalue|: C is treated as singular."""


@dataclass(frozen=True)
class BornStability:
    """Born stability verdict of one stiffness tensor.

    Attributes:
        stable: every eigenvalue of C is positive (and C is not singular).
        eigenvalues: the six eigenvalues of the symmetric part of C, ascending, GPa.
        singular: C has no inverse (no compliance, Reuss/Hill moduli undefined).
        failed_conditions: one line per non-positive eigenvalue, ``"lambda_1 = -3.2 GPa <= 0 (mode ...)"``
            (``~ 0`` for a vanishing one), the mode written in Voigt strain components; empty when stable.
    """

    stable: bool
    eigenvalues: NDArray[np.float64]
    singular: bool
    failed_conditions: tuple[str, ...]

    @property
    def min_eigenvalue(self) -> float:
        """Smallest eigenvalue of C, GPa."""
        return float(self.eigenvalues[0])

    @property
    def verdict(self) -> str:
        """``"stable"``, ``"unstable"`` or ``"singular"`` (one word for tables and CSV)."""
        return "singular" if self.singular else ("stable" if self.stable else "unstable")

    @property
    def reason(self) -> str | None:
        """Why C is not stable, in one sentence; None when stable."""
        if self.stable:
            return None
        text = f"Born criterion fails: {'; '.join(self.failed_conditions)}"
        if self.singular:
            text += "; C is singular, so there is no compliance: Reuss and Hill moduli, directional moduli "
            text += "and sound velocities are undefined"
        return text + "."

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary (eigenvalues in GPa)."""
        return {
            "verdict": self.verdict,
            "stable": self.stable,
            "singular": self.singular,
            "min_eigenvalue_gpa": self.min_eigenvalue,
            "eigenvalues_gpa": [float(v) for v in self.eigenvalues],
            "failed_conditions": list(self.failed_conditions),
            "reason": self.reason,
        }


def _mode(vector: NDArray[np.float64]) -> str:
    """A strain mode as ``0.71 e_xx - 0.71 e_yy`` (components below 0.1 left out, sign fixed)."""
    vector = vector if vector[np.argmax(np.abs(vector))] > 0 else -vector
    terms = [(c, label) for c, label in zip(vector, VOIGT_STRAIN_LABELS, strict=True) if abs(c) >= 0.1]
    text = " ".join(f"{'-' if c < 0 else '+'} {abs(c):.2f} {label}" for c, label in terms)
    return text.removeprefix("+ ")


def born_stability(elastic_tensor: ArrayLike) -> BornStability:
    """The Born stability of a 6x6 Voigt stiffness.

    Args:
        elastic_tensor: C, (6, 6) Voigt, GPa (its symmetric part is tested).
    """
    C = np.asarray(elastic_tensor, dtype=float)
    if C.shape != (6, 6) or not np.all(np.isfinite(C)):
        raise ValueError(f"Expected a finite 6x6 Voigt elastic tensor in GPa, got shape {C.shape}.")
    eigenvalues, vectors = np.linalg.eigh(0.5 * (C + C.T))
    scale = max(float(np.abs(eigenvalues).max()), 1e-300)
    singular = bool(abs(eigenvalues).min() <= SINGULAR_TOLERANCE * scale)
    failing = [k for k, value in enumerate(eigenvalues) if value <= 0.0 or abs(value) <= SINGULAR_TOLERANCE * scale]
    conditions = tuple(
        f"lambda_{k + 1} = {eigenvalues[k]:.3g} GPa {'<= 0' if eigenvalues[k] <= 0 else '~ 0'} "
        f"(mode {_mode(vectors[:, k])})"
        for k in failing
    )
    return BornStability(stable=not failing, eigenvalues=eigenvalues, singular=singular, failed_conditions=conditions)
