"""matcalc-compatible elasticity calculator: a StrainTensorNet model behind matcalc's ``PropCalc`` interface.

``StnElasticityCalc(model).calc(structure)`` returns the keys and units of ``matcalc.ElasticityCalc.calc``
(``elastic_tensor``, ``bulk_modulus_vrh``, ``shear_modulus_vrh``, ``youngs_modulus``, ``residuals_sum``,
``r2_score_mean``, ``structure``, ``final_structure``, ``_units``), so code written for matcalc can swap it in,
and :func:`elasticity_benchmark` is matcalc's ``ElasticityBenchmark`` scoring such a model next to universal
potentials::

    import stn_plugin
    from stn_plugin.calc import StnElasticityCalc, elasticity_benchmark

    model = stn_plugin.load("stn-mp-2023")
    result = StnElasticityCalc(model, units_GPa=True).calc(structure)  # result["bulk_modulus_vrh"] in GPa
    frame = elasticity_benchmark(benchmark_name="my-benchmark.json.gz").run(model, "stn")

Differences from matcalc's finite-strain fit, by design: the model predicts C of the structure as given (no
relaxation: ``relax_structure`` does not exist, ``structure`` is the input), C is projected onto the point group
(``symmetrize=True``, as the model's default), there is no strain-stress fit (``residuals_sum`` and
``r2_score_mean`` are NaN) and ``calc_many`` predicts in batches in this process (``n_jobs`` is ignored: no
copies of the model in worker processes). Units follow matcalc: eV/Angstrom^3 unless ``units_GPa=True``.
Extra keys: ``born_stable`` (bool), ``stn_prediction`` (the :class:`~stn_plugin.predictor.prediction.
ElasticPrediction`, GPa).

Needs the optional extra: ``pip install "stn-plugin[matcalc]"``. matcalc 0.7 asks the Hugging Face Hub for
MatGL's model list when it is imported (for its ``load_universal`` of MatGL models it does not name itself); on a
machine without network that request is retried for about 20 s. When matcalc is not imported yet, this module
imports it without that request (:func:`_import_matcalc`), so it needs no network; import matcalc before this
module to keep matcalc's list of online MatGL models.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Sequence
from typing import Any

import matgl
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Structure

from stn_plugin.predictor.prediction import ElasticPrediction


def _import_matcalc() -> None:
    """Import matcalc without its Hugging Face Hub request for MatGL's online models (none is needed here).

    ``matcalc.utils`` calls ``matgl.get_available_pretrained_models()`` at import time; for that import only the
    function returns an empty list. Nothing changes when matcalc is already imported.

    Raises:
        ImportError: matcalc is not installed (the message says how to install it).
    """
    if "matcalc" in sys.modules:
        return
    listing = matgl.get_available_pretrained_models
    matgl.get_available_pretrained_models = lambda: []  # type: ignore[assignment]
    try:
        import matcalc  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('stn_plugin.calc needs matcalc: pip install "stn-plugin[matcalc]"') from exc
    finally:
        matgl.get_available_pretrained_models = listing  # type: ignore[assignment]


_import_matcalc()
from matcalc import PropCalc  # noqa: E402 - after _import_matcalc
from matcalc.utils import to_pmg_structure  # noqa: E402


class StnElasticityCalc(PropCalc):
    """Elastic tensor and VRH moduli predicted by a StrainTensorNet model, in matcalc's result format.

    Attributes:
        model: a loaded model of the family (``stn_plugin.load(...)``).
        units_GPa: report C and the moduli in GPa (default False: eV/Angstrom^3, as matcalc's ``ElasticityCalc``).
        symmetrize: project C onto each crystal's point group.
        batch_size: structures predicted together by ``calc_many``.
    """

    def __init__(
        self,
        model: Any,
        *,
        units_GPa: bool = False,  # noqa: N803 - matcalc's spelling
        symmetrize: bool = True,
        batch_size: int = 8,
    ) -> None:
        self.model = model
        self.units_GPa = units_GPa
        self.symmetrize = symmetrize
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={type(self.model).__name__}, units_GPa={self.units_GPa})"

    def _result(self, result: dict[str, Any], structure: Structure, prediction: ElasticPrediction) -> dict[str, Any]:
        """matcalc's ``ElasticityCalc`` keys from one prediction (C in GPa converted when ``units_GPa`` is False)."""
        C = prediction.elastic_tensor
        factor = 1.0 if self.units_GPa else ElasticTensor.GPa_to_eV_A3
        k, g = float(prediction.moduli["bulk_vrh"]), float(prediction.moduli["shear_vrh"])
        unit = "GPa" if self.units_GPa else "eV/A^3"
        units = self._merge_units(
            result.get("_units"),
            {key: unit for key in ("elastic_tensor", "bulk_modulus_vrh", "shear_modulus_vrh", "youngs_modulus")}
            | {"residuals_sum": unit},
        )
        return result | {
            "elastic_tensor": ElasticTensor(C * factor),
            "shear_modulus_vrh": g * factor,
            "bulk_modulus_vrh": k * factor,
            "youngs_modulus": 9 * k * g / (3 * k + g) * factor,
            "residuals_sum": float("nan"),
            "r2_score_mean": float("nan"),
            "structure": structure,
            "born_stable": prediction.stability.stable,
            "stn_prediction": prediction,
            "_units": units,
        }

    def calc(self, structure: Structure | Any | dict[str, Any]) -> dict[str, Any]:
        """Predict one structure (pymatgen ``Structure``, ASE ``Atoms``, or a matcalc result dict holding one).

        Returns:
            The keys of ``matcalc.ElasticityCalc.calc`` (see the module docstring) merged into the input dict.
        """
        result = super().calc(structure)
        structure_in = to_pmg_structure(result["final_structure"])
        prediction = self.model.predict_structure(structure_in, symmetrize=self.symmetrize)
        return self._result(result, structure_in, prediction)

    def calc_many(
        self,
        structures: Sequence[Structure | Any | dict[str, Any]],
        n_jobs: int | None = None,
        allow_errors: bool = False,  # noqa: FBT001, FBT002 - matcalc's signature
        **kwargs: Any,
    ) -> Generator[dict[str, Any] | None, None, None]:
        """Predict many structures, ``batch_size`` at a time, in input order.

        Args:
            structures: as for :meth:`calc`.
            n_jobs: ignored (matcalc's signature; batching replaces worker processes).
            allow_errors: yield None for a structure that fails instead of raising.
            **kwargs: ignored (matcalc passes joblib options).
        """
        items = list(structures)
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            try:
                inputs = [PropCalc.calc(self, s) for s in chunk]
                pmg = [to_pmg_structure(r["final_structure"]) for r in inputs]
                predictions = self.model.predict_structures(pmg, symmetrize=self.symmetrize)
            except Exception:
                if not allow_errors:
                    raise
                yield from self._one_by_one(chunk)
                continue
            yield from (self._result(r, s, p) for r, s, p in zip(inputs, pmg, predictions, strict=True))

    def _one_by_one(self, chunk: Sequence[Any]) -> Generator[dict[str, Any] | None, None, None]:
        """:meth:`calc` of each structure, None for those that fail (a batch that failed as a whole)."""
        for structure in chunk:
            try:
                yield self.calc(structure)
            except Exception:  # noqa: BLE001 - allow_errors: the failing structure becomes None
                yield None


def elasticity_benchmark(**kwargs: Any) -> Any:
    """matcalc's ``ElasticityBenchmark`` (same data, columns, renaming) that runs a StrainTensorNet model.

    ``elasticity_benchmark(benchmark_name=...).run(model, "stn")``: the model takes the place of the ASE
    calculator; moduli in GPa as matcalc's benchmark reports them. ``kwargs`` go to ``ElasticityBenchmark``
    (``symmetrize`` and ``batch_size`` to :class:`StnElasticityCalc`; matcalc's relaxation options such as
    ``fmax`` do not apply). Needs ``matcalc[benchmark]`` (matminer, which requires pandas < 3).
    """
    from matcalc.benchmark import ElasticityBenchmark

    options = {key: kwargs.pop(key) for key in ("symmetrize", "batch_size") if key in kwargs}
    benchmark = ElasticityBenchmark(**kwargs)

    def get_prop_calc(calculator: Any, **_: Any) -> StnElasticityCalc:
        return StnElasticityCalc(calculator, units_GPa=True, **options)

    benchmark.get_prop_calc = get_prop_calc  # type: ignore[method-assign]
    return benchmark
