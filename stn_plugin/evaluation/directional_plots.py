"""ELATE-style pictures of the directional Young's modulus E(n) of one crystal (PNG, matplotlib Agg).

* ``<stem>_youngs_3d.png``: the surface r(n) = E(n) n over the unit sphere, coloured by E (GPa), axes in GPa.
* ``<stem>_youngs_2d.png``: polar cuts of E(n) in the xy, xz and yz planes (radius in GPa), with the
  minimum and maximum of each cut.

Directions are Cartesian in the frame of C (the frame of the structure file for ``stn models predict``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from pymatgen.analysis.elasticity import ElasticTensor

from stn_plugin.evaluation.plots import save_figure
from stn_plugin.physics.directional import compliance_tensor, direction, youngs_modulus

PLANES: dict[str, tuple[int, int]] = {"xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}
"""Cartesian axes spanning each polar cut."""


def youngs_modulus_plots(
    elastic_tensor: ArrayLike | ElasticTensor, directory: str | Path, stem: str, title: str = ""
) -> list[Path]:
    """Write the 3D surface and the three 2D polar cuts of E(n) for C; returns the two PNG paths.

    Args:
        elastic_tensor: C, (6, 6) Voigt GPa or ``ElasticTensor`` (must not be singular).
        directory: folder of the PNG files (created).
        stem: file-name prefix, e.g. the structure file's name.
        title: figure title, e.g. ``"Si (Si.cif)"``.
    """
    S = compliance_tensor(elastic_tensor)
    directory = Path(directory)
    theta, phi = np.meshgrid(np.linspace(0, np.pi, 61), np.linspace(0, 2 * np.pi, 121), indexing="ij")
    n = direction(theta, phi)
    E = youngs_modulus(S, n)
    norm = Normalize(float(E.min()), float(E.max()) if E.max() > E.min() else float(E.min()) + 1.0)
    cmap = colormaps["viridis"]
    fig = Figure(figsize=(5.6, 4.8), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    xyz = E[..., None] * n
    ax.plot_surface(*(xyz[..., k] for k in range(3)), facecolors=cmap(norm(E)), rstride=1, cstride=1, linewidth=0)
    limit = float(E.max())
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), zlim=(-limit, limit))
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("x (GPa)")
    ax.set_ylabel("y (GPa)")
    ax.set_zlabel("z (GPa)")
    ax.set_title(f"Young's modulus E(n){': ' + title if title else ''}", fontsize=10)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="E (GPa)", shrink=0.7)
    surface = save_figure(fig, directory / f"{stem}_youngs_3d.png")

    angle = np.linspace(0, 2 * np.pi, 361)
    fig = Figure(figsize=(9.6, 3.6), layout="constrained")
    for k, (plane, (a, b)) in enumerate(PLANES.items()):
        cut = np.zeros((angle.size, 3))
        cut[:, a], cut[:, b] = np.cos(angle), np.sin(angle)
        values = youngs_modulus(S, cut)
        ax = fig.add_subplot(1, 3, k + 1, projection="polar")
        ax.plot(angle, values, color="tab:blue")
        ax.set_ylim(0, 1.1 * float(values.max()))
        ax.set_title(f"{plane} plane (angle from {plane[0]})\nE {values.min():.0f}-{values.max():.0f} GPa", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_rlabel_position(22.5)
    fig.suptitle(f"Young's modulus E (GPa), polar cuts{': ' + title if title else ''}", fontsize=10)
    cuts = save_figure(fig, directory / f"{stem}_youngs_2d.png")
    return [surface, cuts]
