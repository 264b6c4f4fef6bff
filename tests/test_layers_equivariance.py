"""Equivariance and basic properties of the e3nn/PyG building blocks (float64)."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3
from torch_geometric.utils import scatter, softmax

from stn_plugin.layers import (
    BesselBasis,
    EdgeTensorProduct,
    EquivariantAttention,
    NormNonlinearity,
    TFNConvolution,
    hidden_irreps,
    sh_irreps,
)
from stn_plugin.layers.convolution import EdgeMessageBlock

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _random_graph(num_nodes: int = 6, num_edges: int = 20, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=g)
    edge_vec = torch.randn(num_edges, 3, generator=g) * 1.5
    return edge_index, edge_vec


def _edge_inputs(edge_vec, irreps_sh, basis):
    sh = o3.SphericalHarmonics(irreps_sh, normalize=True, normalization="component")
    return sh(edge_vec), basis(edge_vec.norm(dim=-1))


@pytest.mark.parametrize("group", ["O(3)", "SO(3)"])
@pytest.mark.parametrize("kind", ["uvu", "fc"])
@pytest.mark.parametrize("block", ["attention", "tfn"])
def test_blocks_are_equivariant(group, kind, block):
    torch.manual_seed(1)
    irreps_sh, irreps = sh_irreps(2, group), hidden_irreps(4, 2, group)
    basis = BesselBasis(6, cutoff=4.0)
    common = {"irreps_sh": irreps_sh, "num_basis": 6, "radial_hidden": 8, "radial_layers": 1, "tp_kind": kind}
    if block == "attention":
        layer = EquivariantAttention(irreps, irreps, num_heads=2, key_dim=4, **common)
    else:
        layer = TFNConvolution(irreps, irreps, **common)
    edge_index, edge_vec = _random_graph()
    x = irreps.randn(6, -1)
    R = o3.rand_matrix()
    if group == "O(3)":
        R = -R  # an improper rotation: O(3) blocks must commute with inversion too
    D = irreps.D_from_matrix(R)
    out = layer(x, edge_index, *_edge_inputs(edge_vec, irreps_sh, basis))
    out_rot = layer(x @ D.T, edge_index, *_edge_inputs(edge_vec @ R.T, irreps_sh, basis))
    torch.testing.assert_close(out @ D.T, out_rot, atol=1e-9, rtol=1e-9)


def test_blocks_share_the_edge_message_base_and_keep_their_state_dict_names():
    """Saved models load into the shared-base blocks: the top-level names of their state dicts are those of before."""
    irreps_sh, irreps = sh_irreps(2, "O(3)"), hidden_irreps(4, 2, "O(3)")
    common = {"irreps_sh": irreps_sh, "num_basis": 6, "radial_hidden": 8, "radial_layers": 1, "tp_kind": "uvu"}
    attention = EquivariantAttention(irreps, irreps, num_heads=2, key_dim=4, **common)
    tfn = TFNConvolution(irreps, irreps, **common)
    assert isinstance(attention, EdgeMessageBlock) and isinstance(tfn, EdgeMessageBlock)
    names = {block: {key.split(".")[0] for key in block.state_dict()} for block in (attention, tfn)}
    assert names[attention] == {"tp", "radial", "query", "key", "output", "skip"}
    assert names[tfn] == {"tp", "radial", "output", "self_interaction"}


def test_norm_nonlinearity_is_equivariant():
    irreps = hidden_irreps(3, 3, "O(3)")
    layer = NormNonlinearity(irreps)
    x, R = irreps.randn(5, -1), o3.rand_matrix()
    D = irreps.D_from_matrix(R)
    torch.testing.assert_close(layer(x) @ D.T, layer(x @ D.T), atol=1e-10, rtol=1e-10)
    assert torch.isfinite(torch.autograd.functional.jacobian(layer, torch.zeros(1, irreps.dim))).all()


@pytest.mark.parametrize("threshold", [1e-4, 0.0])
def test_norm_nonlinearity_zeroes_vectors_at_or_below_its_threshold(threshold):
    layer = NormNonlinearity(o3.Irreps("3x1o"), zero_threshold=threshold)
    direction = torch.tensor([0.6, 0.0, 0.8])
    lengths = torch.tensor([0.5e-4, 2e-4, 1.0])  # below, just above and far above the default threshold 1e-4
    x = (lengths[:, None] * direction).reshape(1, 9)
    out = layer(x).reshape(3, 3)
    n = torch.sqrt(lengths**2 + 1e-12)  # eps = 1e-6
    normed = (n - n.mean()) / torch.sqrt(n.var(unbiased=False) + 1e-5)  # LayerNorm over the 3 channels, weight 1
    expected = (lengths * torch.nn.functional.silu(normed) / n)[:, None] * direction
    if threshold:
        expected[0] = 0.0  # |x| = 0.5e-4 <= 1e-4: treated as a symmetry zero
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-9)
    assert out[1].norm() > 0.1  # a 2e-4 vector comes out of order one: why a round-off zero must not pass
    assert (out[0].norm() == 0) == (threshold > 0)


def test_attention_weights_normalise_over_incoming_edges():
    """With constant values per edge, softmax weights summing to 1 give the value back at each node."""
    irreps = o3.Irreps("4x0e")
    layer = EquivariantAttention(irreps, irreps, sh_irreps(0, "O(3)"), 4, 8, 1, num_heads=2, key_dim=2, tp_kind="uvu")
    edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
    x = irreps.randn(4, -1)
    basis = torch.ones(4, 4)  # identical radial input: every edge into node 0 carries x_src weighted
    sh = torch.ones(4, 1)
    values = layer.tp(x[edge_index[0]], sh, layer.radial(basis))
    out = layer(x, edge_index, sh, basis) - layer.skip(x)
    # node 1 has a single incoming edge: alpha = 1 exactly
    torch.testing.assert_close(out[1], layer.output(values[3:4])[0])
    # nodes without incoming edges receive no message
    torch.testing.assert_close(out[2:], layer.output(torch.zeros(2, values.shape[1])))


def test_bessel_basis_is_smooth_and_compact():
    basis = BesselBasis(8, cutoff=5.0)
    r = torch.linspace(0.5, 6.0, 200, requires_grad=True)
    values = basis(r)
    assert values.shape == (200, 8)
    assert torch.all(values[r >= 5.0] == 0)
    near = basis(torch.tensor([5.0 - 1e-4]))
    assert near.abs().max() < 1e-8
    (grad,) = torch.autograd.grad(values.sum(), r)
    assert torch.isfinite(grad).all()


def test_uvu_is_much_smaller_than_fc():
    irreps, sh = hidden_irreps(32, 2, "O(3)"), sh_irreps(2, "O(3)")
    uvu = EdgeTensorProduct(irreps, sh, irreps, "uvu")
    fc = EdgeTensorProduct(irreps, sh, irreps, "fc")
    assert uvu.irreps_out.num_irreps > 0 and fc.irreps_out == irreps
    assert fc.weight_numel >= 16 * uvu.weight_numel
    with pytest.raises(ValueError):
        EdgeTensorProduct(irreps, sh, irreps, "uuu")


def _reference_attention(layer: EquivariantAttention, x, edge_index, sh, basis):
    """The attention block written out with explicit per-position index lists (the layout definition)."""
    src, dst = edge_index
    values = layer.tp(x[src], sh, layer.radial(basis))
    irreps_value, heads = layer.tp.irreps_out, layer.num_heads
    scalars = [
        i
        for (_, ir), sl in zip(irreps_value, irreps_value.slices(), strict=False)
        if ir.l == 0
        for i in range(sl.start, sl.stop)
    ]
    head_of = [u * heads // mul for mul, ir in irreps_value for u in range(mul) for _ in range(ir.dim)]
    keys = layer.key(values[:, scalars]).view(-1, heads, layer.key_dim)
    queries = layer.query(x[:, layer.query_scalars]).view(-1, heads, layer.key_dim)
    alpha = softmax((queries[dst] * keys).sum(-1) / layer.key_dim**0.5, index=dst, num_nodes=x.shape[0])
    aggregated = scatter(values * alpha[:, head_of], dst, dim=0, dim_size=x.shape[0], reduce="sum")
    return layer.output(aggregated) + layer.skip(x)


@pytest.mark.parametrize("kind", ["uvu", "fc"])
def test_attention_matches_its_written_out_definition_and_distinct_length_basis(kind):
    """Sliced heads/keys equal the index-list formulation; a basis per distinct length + index equals per edge."""
    torch.manual_seed(3)
    irreps_sh, irreps = sh_irreps(2, "O(3)"), hidden_irreps(4, 2, "O(3)")
    basis = BesselBasis(6, cutoff=4.0)
    layer = EquivariantAttention(irreps, irreps, irreps_sh, 6, 8, 1, num_heads=2, key_dim=4, tp_kind=kind)
    conv = TFNConvolution(irreps, irreps, irreps_sh, 6, 8, 1, tp_kind=kind)
    edge_index, edge_vec = _random_graph(num_edges=30)
    edge_vec[10:20] = edge_vec[:10].flip(-1)  # permuted components: same lengths, different directions
    x = irreps.randn(6, -1)
    sh, per_edge = _edge_inputs(edge_vec, irreps_sh, basis)
    expected = _reference_attention(layer, x, edge_index, sh, per_edge)
    torch.testing.assert_close(layer(x, edge_index, sh, per_edge), expected, atol=1e-12, rtol=1e-12)
    lengths, index = torch.unique(edge_vec.norm(dim=-1), return_inverse=True)
    assert len(lengths) < len(edge_vec)
    torch.testing.assert_close(layer(x, edge_index, sh, basis(lengths), index), expected, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(
        conv(x, edge_index, sh, basis(lengths), index), conv(x, edge_index, sh, per_edge), atol=1e-12, rtol=1e-12
    )
