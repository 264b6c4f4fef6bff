"""Edge tensor products ``TP(x_src, Y(edge); w(|edge|))`` with per-edge weights."""

from __future__ import annotations

from typing import Literal

from e3nn import o3
from torch import Tensor, fx, nn

TensorProductKind = Literal["uvu", "fc"]


class EdgeTensorProduct(nn.Module):
    """Tensor product of neighbour features with edge spherical harmonics, weighted per edge.

    ``"uvu"`` (depthwise, NequIP-style): every input block ``mul x ir_in`` combines with every
    harmonic ``Y_J`` into every ``ir_out`` of ``irreps_target``; one weight per channel and path, no
    channel mixing (done afterwards by an ``o3.Linear`` on the nodes). ``irreps_out`` is the list of
    path outputs. ``"fc"`` (TFN / SE(3)-Transformer kernels): ``o3.FullyConnectedTensorProduct`` to
    ``irreps_target`` with a full ``C_in x C_out`` matrix per path and edge; 16-30x the CPU cost.

    Args:
        irreps_in: node feature irreps.
        irreps_sh: spherical-harmonic irreps.
        irreps_target: irreps the paths may produce (``"uvu"``) or the output irreps (``"fc"``).
        kind: ``"uvu"`` or ``"fc"``.
    """

    def __init__(
        self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_target: o3.Irreps, kind: TensorProductKind
    ) -> None:
        super().__init__()
        irreps_in, irreps_sh, irreps_target = o3.Irreps(irreps_in), o3.Irreps(irreps_sh), o3.Irreps(irreps_target)
        if kind == "uvu":
            paths: list[tuple[int, o3.Irrep]] = []
            instructions: list[tuple[int, int, int, str, bool]] = []
            for i_in, (mul, ir_in) in enumerate(irreps_in):
                for i_sh, (_, ir_sh) in enumerate(irreps_sh):
                    for ir_out in ir_in * ir_sh:
                        if ir_out in irreps_target:
                            instructions.append((i_in, i_sh, len(paths), "uvu", True))
                            paths.append((mul, ir_out))
            self.tp = o3.TensorProduct(
                irreps_in, irreps_sh, o3.Irreps(paths), instructions, shared_weights=False, internal_weights=False
            )
        elif kind == "fc":
            self.tp = o3.FullyConnectedTensorProduct(
                irreps_in, irreps_sh, irreps_target, shared_weights=False, internal_weights=False
            )
        else:
            raise ValueError(f"Unknown tensor product kind {kind!r}; use 'uvu' or 'fc'.")
        drop_unused_outer_products(self.tp)
        self.kind = kind
        self.irreps_out: o3.Irreps = self.tp.irreps_out
        self.weight_numel: int = self.tp.weight_numel

    def forward(self, x_src: Tensor, edge_sh: Tensor, weights: Tensor) -> Tensor:
        """(E, irreps_in.dim), (E, irreps_sh.dim), (E, weight_numel) -> (E, irreps_out.dim)."""
        return self.tp(x_src, edge_sh, weights)


def drop_unused_outer_products(tp: o3.TensorProduct) -> None:
    """Remove the dead nodes of e3nn's generated forward graph (same results, about 20 % less model time).

    e3nn 0.6's code generator computes the full outer product ``x1 (x) x2`` of every input pair and keeps
    it even when all instructions of that pair use a specialised contraction (its source says "when
    eliminate_dead_code() is in PyTorch stable, use that"); for the ``uvu`` kernels of the ``cpu``
    preset these unused (E, mul, 1 or 3, 3) tensors are the largest allocations of the forward pass.
    A no-op when e3nn compiled the graph with TorchScript (which removes dead code itself).
    """
    graph_module = getattr(tp, "_compiled_main_left_right", None)
    if isinstance(graph_module, fx.GraphModule) and graph_module.graph.eliminate_dead_code():
        graph_module.recompile()
