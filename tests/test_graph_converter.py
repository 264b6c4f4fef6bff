"""Strained graphs: contract fields, F times unstrained vectors, shared edges, batching, cache, edge cap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from stn_plugin.graph import MaterialCache, StrainedGraphConverter, cache_key
from stn_plugin.graph.batching import edge_budget_batches
from stn_plugin.physics.voigt import N_PAIRS, VOIGT_PAIRS, all_deformation_gradients, deformation_gradient
from tests.graph_fixtures import SYSTEM_EXAMPLES, bundled_structures

torch.set_num_threads(1)

STRUCTURE = bundled_structures()[SYSTEM_EXAMPLES["monoclinic"]]


@pytest.fixture(scope="module")
def graphs():
    sed = np.arange(36, dtype=float).reshape(6, 6)
    return StrainedGraphConverter().strained_graphs(STRUCTURE, sed=sed + sed.T)


def test_contract_fields(graphs) -> None:
    assert len(graphs) == N_PAIRS
    g = graphs[4]
    n, e = g.num_nodes, g.edge_index.shape[1]
    assert g.atomic_numbers.shape == (n,) and g.atomic_numbers.dtype == torch.long
    assert g.node_type.shape == (n,) and g.node_type.dtype == torch.long
    assert g.atom_scalars.shape == (n, 4) and g.atom_scalars.dtype == torch.float32
    assert g.pbc_offset.shape == (e, 3) and g.frac_coords.shape == (n, 3)
    assert g.lattice.shape == (1, 3, 3) and g.edge_vec.shape == (e, 3) and g.edge_vec.dtype == torch.float32
    assert g.strain_onehot.shape == (1, N_PAIRS) and g.strain_onehot[0, 4] == 1 and g.strain_onehot.sum() == 1
    assert g.strain_pair.tolist() == [4] and g.dcv.shape == (1, N_PAIRS) and g.dcv[0, 4] == 1
    i, j = VOIGT_PAIRS[4]
    assert g.sed.item() == pytest.approx((6 * i + j) + (6 * j + i))  # U = A + A^T, A[i, j] = 6 i + j
    assert g.volume_per_atom.item() == pytest.approx(STRUCTURE.volume / len(STRUCTURE), rel=1e-3)


def test_strained_edge_vectors_are_F_times_unstrained(graphs) -> None:
    unstrained, _, _ = StrainedGraphConverter().get_graph(STRUCTURE)
    v0 = unstrained.edge_vec.double()
    for k, (i, j) in enumerate(VOIGT_PAIRS):
        F = torch.as_tensor(deformation_gradient(i, j))
        torch.testing.assert_close(graphs[k].edge_vec.double(), v0 @ F.T, atol=1e-5, rtol=1e-5)
        lattice = unstrained.lattice[0].double() @ F.T
        torch.testing.assert_close(graphs[k].lattice[0].double(), lattice, atol=1e-5, rtol=0)


def test_strained_graphs_share_edges(graphs) -> None:
    for g in graphs[1:]:
        assert g.edge_index is graphs[0].edge_index and g.pbc_offset is graphs[0].pbc_offset
    assert len({tuple(g.lattice.flatten().tolist()) for g in graphs}) == N_PAIRS


def test_without_true_dcv_only_the_dcv_field_changes(graphs) -> None:
    """``true_dcv=False`` (StrainTensorNet prediction) skips the symmetry analysis: dcv is NaN, the rest identical;
    a subset of pairs gives the same graphs as the full set."""
    sed = np.arange(36, dtype=float).reshape(6, 6)
    fast = StrainedGraphConverter(true_dcv=False).strained_graphs(STRUCTURE, sed=sed + sed.T)
    subset = StrainedGraphConverter().strained_graphs(STRUCTURE, sed=sed + sed.T, pairs=[3, 17])
    for k, g in enumerate(fast):
        assert torch.isnan(g.dcv).all() and g.dcv.shape == (1, N_PAIRS)
        for key, value in graphs[k].to_dict().items():
            if key != "dcv":
                torch.testing.assert_close(g[key], value, atol=0, rtol=0, equal_nan=True, msg=key)
    for g, k in zip(subset, [3, 17], strict=True):
        for key, value in graphs[k].to_dict().items():
            torch.testing.assert_close(g[key], value, atol=0, rtol=0, equal_nan=True, msg=key)
        assert g.edge_vec.untyped_storage().nbytes() == g.edge_vec.numel() * 4  # not a view of all states


def test_batching_keeps_edge_vectors(graphs) -> None:
    other = StrainedGraphConverter().strained_graphs(bundled_structures()[SYSTEM_EXAMPLES["cubic"]])
    batch = next(iter(DataLoader(graphs[:3] + other[:3], batch_size=6)))
    assert batch.lattice.shape == (6, 3, 3) and batch.strain_onehot.shape == (6, N_PAIRS)
    src, dst = batch.edge_index
    graph_of_edge = batch.batch[dst]
    assert torch.equal(graph_of_edge, batch.batch[src])
    frac = batch.frac_coords.double()
    recomputed = torch.einsum(
        "ea,eab->eb", frac[src] + batch.pbc_offset.double() - frac[dst], batch.lattice.double()[graph_of_edge]
    )
    torch.testing.assert_close(recomputed, batch.edge_vec.double(), atol=1e-4, rtol=1e-4)


def test_disk_cache_hit_returns_identical_graph(tmp_path) -> None:
    first = StrainedGraphConverter(cache=MaterialCache(tmp_path))
    graphs_a = first.strained_graphs(STRUCTURE, dcv=np.eye(N_PAIRS))
    assert len(list(tmp_path.glob("*.npz"))) == 1
    second = StrainedGraphConverter(cache=MaterialCache(tmp_path))
    key = cache_key(STRUCTURE, second.settings())
    cached, prepared = second.cache.get(key), first.prepare(STRUCTURE)
    for name in ("lattice", "atomic_numbers", "frac_coords", "rotation"):
        np.testing.assert_array_equal(getattr(cached, name), getattr(prepared, name))
    for name in ("src", "dst", "images"):
        np.testing.assert_array_equal(getattr(cached.edges, name), getattr(prepared.edges, name))
    graphs_b = second.strained_graphs(STRUCTURE, dcv=np.eye(N_PAIRS))
    for a, b in zip(graphs_a, graphs_b, strict=True):
        assert a.keys() == b.keys()
        for name in a.keys():
            if isinstance(a[name], torch.Tensor):
                assert torch.equal(a[name], b[name]) or torch.isnan(a[name]).all() and torch.isnan(b[name]).all()
    assert second.prepare(STRUCTURE) is second.prepare(STRUCTURE)  # in-memory hit
    radius = StrainedGraphConverter(edges="radius", cache=MaterialCache(tmp_path))
    assert cache_key(STRUCTURE, radius.settings()) != key


def test_deformations_match_physics_core() -> None:
    converter = StrainedGraphConverter(magnitude=0.01)
    graphs = converter.strained_graphs(STRUCTURE, dcv=np.eye(N_PAIRS), pairs=[20])
    F = all_deformation_gradients(0.01)[20]
    material = converter.prepare(STRUCTURE)
    np.testing.assert_allclose(graphs[0].lattice[0].numpy(), material.lattice @ F.T, atol=1e-5)


def test_edge_budget_batches_keep_order_and_the_budget(graphs) -> None:
    per_graph = graphs[0].num_edges
    batches = list(edge_budget_batches(graphs, max_edges=5 * per_graph + 1))
    assert [b.num_graphs for b in batches] == [5, 5, 5, 5, 1]
    assert torch.equal(torch.cat([b.strain_pair for b in batches]), torch.arange(N_PAIRS))
    assert [b.num_graphs for b in edge_budget_batches(graphs, max_edges=1)] == [1] * N_PAIRS  # larger graph: alone
    assert [b.num_graphs for b in edge_budget_batches(graphs, max_edges=None)] == [N_PAIRS]
    with pytest.raises(ValueError, match="positive"):
        list(edge_budget_batches(graphs, max_edges=0))
