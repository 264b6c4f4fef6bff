"""Table II, per-system, Fig. 7, Fig. 9 and DCV metrics of stn_plugin.evaluation, against hand-computed values."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from stn_plugin.evaluation import EvaluationData, EvaluationMetrics, dcv_accuracy, evaluate, voigt_moduli
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.sed import MEV_PER_GPA_A3

EPS = 0.02
VOLUMES = np.array([10.0, 20.0])


def cubic(c11: float, c12: float, c44: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[:3, :3] = c12
    C[[0, 1, 2], [0, 1, 2]] = c11
    C[[3, 4, 5], [3, 4, 5]] = c44
    return C


def two_materials(elements: list = ["NaCl", "MgCl2"]) -> EvaluationData:  # noqa: B006 - never mutated
    """A: cubic, predicted C11 21 GPa too high. B: hexagonal, predicted C44 42 GPa too low."""
    true = np.stack([cubic(100, 50, 30), cubic(200, 100, 50)])
    pred = true.copy()
    pred[0, 0, 0] += 21.0
    pred[1, 3, 3] -= 42.0
    return EvaluationData.from_elastic(true, pred, VOLUMES, ["cubic", "hexagonal"], elements, magnitude=EPS)


def test_table_ii_by_hand() -> None:
    o = evaluate(two_materials()).overall
    assert o.n_materials == 2
    # C_ij: one wrong entry of 21 per material (21 and 42 GPa).
    assert o.cij_mae_gpa == pytest.approx((21 + 42) / 42)
    assert o.cij_rmse_gpa == pytest.approx(np.sqrt((21**2 + 42**2) / 42))
    assert o.cij_mean_gpa == pytest.approx((3 * (100 + 50 + 30) + 3 * (200 + 100 + 50)) / 42)
    # U_ij: dC11 moves U_11..U_16 by dC11/2 * k; dC44 moves U_14, U_24, U_34, U_44, U_45, U_46 by dC44/2 * k.
    k = EPS**2 * VOLUMES * MEV_PER_GPA_A3
    assert o.sed_mae_mev == pytest.approx((6 * 10.5 * k[0] + 6 * 21 * k[1]) / 42)
    assert o.sed_rmse_mev == pytest.approx(np.sqrt((6 * (10.5 * k[0]) ** 2 + 6 * (21 * k[1]) ** 2) / 42))
    # B_V = (C11 + C22 + C33 + 2 (C12 + C13 + C23)) / 9,
    # G_V = (C11 + C22 + C33 - C12 - C13 - C23 + 3 (C44 + C55 + C66)) / 15.
    assert o.bulk_voigt_mean_gpa == pytest.approx((200 / 3 + 400 / 3) / 2)
    assert o.bulk_voigt_mae_gpa == pytest.approx((21 / 9) / 2)
    assert o.bulk_voigt_rmse_gpa == pytest.approx(np.sqrt((21 / 9) ** 2 / 2))
    assert o.shear_voigt_mae_gpa == pytest.approx((21 / 15 + 3 * 42 / 15) / 2)
    young = lambda b, g: 9 * b * g / (3 * b + g)  # noqa: E731
    poisson = lambda b, g: (3 * b - 2 * g) / (6 * b + 2 * g)  # noqa: E731
    b_true, g_true = np.array([200 / 3, 400 / 3]), np.array([(150 + 3 * 90) / 15, (300 + 3 * 150) / 15])
    b_pred, g_pred = b_true + [21 / 9, 0], g_true + [21 / 15, -3 * 42 / 15]
    assert o.young_mae_gpa == pytest.approx(np.abs(young(b_pred, g_pred) - young(b_true, g_true)).mean())
    assert o.poisson_mae == pytest.approx(np.abs(poisson(b_pred, g_pred) - poisson(b_true, g_true)).mean())
    assert o.poisson_mean == pytest.approx(poisson(b_true, g_true).mean())


def test_per_crystal_system_breakdown() -> None:
    m = evaluate(two_materials())
    assert list(m.by_crystal_system) == ["cubic", "hexagonal"]  # highest symmetry first
    assert m.by_crystal_system["cubic"].cij_mae_gpa == pytest.approx(1.0)
    assert m.by_crystal_system["hexagonal"].cij_mae_gpa == pytest.approx(2.0)
    assert m.by_crystal_system["hexagonal"].bulk_voigt_mae_gpa == pytest.approx(0.0)
    assert m.by_crystal_system["cubic"].n_materials == 1


def test_voigt_moduli_match_physics_moduli() -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 6, 6))
    C = 50 * np.einsum("nij,nkj->nik", A, A) + 100 * np.eye(6)
    fast = voigt_moduli(C)
    for n in range(5):
        m = elastic_moduli(C[n])
        for key in ("bulk_voigt", "shear_voigt", "young", "poisson"):
            assert fast[key][n] == pytest.approx(getattr(m, key))


def test_per_element_attribution() -> None:
    for elements in (["NaCl", "MgCl2"], [["Na", "Cl"], ("Cl", "Mg", "Mg")]):
        errors = {e.element: e for e in evaluate(two_materials(elements)).elements}
        assert [e for e in errors] == ["Na", "Mg", "Cl"]  # by atomic number
        assert errors["Na"].n_materials == 1 and errors["Na"].cij_mae_gpa == pytest.approx(1.0)
        assert errors["Mg"].n_materials == 1 and errors["Mg"].cij_mae_gpa == pytest.approx(2.0)
        assert errors["Cl"].n_materials == 2 and errors["Cl"].cij_mae_gpa == pytest.approx(1.5)
        assert errors["Cl"].bulk_voigt_mean_gpa == pytest.approx(100.0)
        k = EPS**2 * VOLUMES * MEV_PER_GPA_A3
        assert errors["Cl"].sed_mae_mev == pytest.approx((6 * 10.5 * k[0] / 21 + 6 * 21 * k[1] / 21) / 2)


def test_fig9_zero_component_statistics() -> None:
    true = np.stack([cubic(100, 50, 30)] * 3)
    pred = true.copy()
    pred[:, 1, 5] = pred[:, 5, 1] = [1.0, 3.0, 10.0]  # C26
    pred[:, 4, 5] = pred[:, 5, 4] = [-2.0, 2.0, 5.0]  # C56
    data = EvaluationData.from_elastic(true, pred, [10.0] * 3, ["cubic", "cubic", "tetragonal"], ["Si"] * 3)
    z = evaluate(data).zero_components
    assert z["cubic_c26"].n_materials == 2
    assert z["cubic_c26"].pred_mean_gpa == pytest.approx(2.0) and z["cubic_c26"].pred_sd_gpa == pytest.approx(1.0)
    assert z["cubic_c56"].pred_mean_gpa == pytest.approx(0.0) and z["cubic_c56"].pred_sd_gpa == pytest.approx(2.0)
    assert z["all_c26"].pred_mean_gpa == pytest.approx(14 / 3)
    assert z["all_c26"].pred_sd_gpa == pytest.approx(np.std([1.0, 3.0, 10.0]))
    assert z["all_c56"].true_mean_gpa == 0.0 and z["all_c56"].true_sd_gpa == 0.0


def test_fig9_without_cubic_materials_is_undefined() -> None:
    data = EvaluationData.from_elastic([cubic(100, 50, 30)], [cubic(90, 50, 30)], [10.0], ["hexagonal"], ["Mg"])
    m = evaluate(data)
    assert m.zero_components["cubic_c26"].n_materials == 0 and m.zero_components["cubic_c26"].pred_mean_gpa is None
    assert "cubic_c26_pred_mean_gpa" not in m.flat() and "all_c26_pred_mean_gpa" in m.flat()


def test_dcv_accuracy_by_hand() -> None:
    true = np.eye(21)[None]
    prob = 0.9 * np.eye(21)[None]
    prob[0, 0, 1] = 0.6  # false positive in row 0
    prob[0, 0, 2] = 0.5  # threshold is inclusive: another false positive in row 0
    prob[0, 4, 4] = 0.4  # false negative in row 4
    acc = dcv_accuracy(prob, true)
    assert acc.n_rows == 21
    assert acc.dcv_element_accuracy == pytest.approx(1 - 3 / 441)
    assert acc.dcv_row_accuracy == pytest.approx(19 / 21)


def test_dcv_in_evaluate_and_per_system() -> None:
    base = two_materials()
    true = np.stack([np.eye(21), np.eye(21)])
    prob = true.copy()
    prob[1, 3, 3] = 0.0  # hexagonal material: one wrong row
    m = evaluate(dataclasses.replace(base, dcv_prob=prob, dcv_true=true))
    assert m.dcv.dcv_row_accuracy == pytest.approx(41 / 42)
    assert m.dcv_by_crystal_system["cubic"].dcv_row_accuracy == 1.0
    assert m.dcv_by_crystal_system["hexagonal"].dcv_row_accuracy == pytest.approx(20 / 21)
    assert evaluate(base).dcv is None and evaluate(base).dcv_by_crystal_system == {}


def test_serialisation_keys_json_and_markdown() -> None:
    m = evaluate(two_materials())
    flat = m.flat()
    for key in (
        "sed_mae_mev",
        "cij_mae_gpa",
        "cij_rmse_gpa",
        "bulk_voigt_mae_gpa",
        "shear_voigt_mae_gpa",
        "young_mae_gpa",
        "poisson_mae",
        "cubic_c26_pred_mean_gpa",
        "all_c56_pred_sd_gpa",
        "cubic/cij_mae_gpa",
        "hexagonal/sed_mae_mev",
    ):
        assert key in flat and isinstance(flat[key], float)
    assert EvaluationMetrics.model_validate_json(m.to_json()) == m
    assert json.loads(m.to_json())["overall"]["cij_mae_gpa"] == pytest.approx(1.5)
    md = m.to_markdown()
    assert "| C_ij (GPa) | 37.857 | 1.500 | 7.246 |" in md
    assert "| hexagonal | 1 |" in md and "| Cl | 2 |" in md


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        EvaluationData.from_elastic(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), [1, 1], ["cubic"] * 2, ["Si"] * 2)
    with pytest.raises(ValueError, match="elements"):
        EvaluationData.from_elastic([cubic(1, 0, 1)], [cubic(1, 0, 1)], [1.0], ["cubic"], ["Si", "C"])
    base = two_materials()
    with pytest.raises(ValueError, match="together"):
        dataclasses.replace(base, dcv_prob=np.zeros((2, 21, 21)))
