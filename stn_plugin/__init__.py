"""stn-plugin: StrainTensorNet as a MatGL model family.

Data flow: structure -> strain (:mod:`stn_plugin.physics.voigt`) -> graph (:mod:`stn_plugin.graph`)
-> model (:mod:`stn_plugin.models`) -> strain energy density (SED) -> elastic tensor
(:mod:`stn_plugin.physics.sed`) -> moduli (:mod:`stn_plugin.physics.moduli`).
"""

from __future__ import annotations

__version__ = "0.1.0"
