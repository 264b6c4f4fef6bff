"""Collating strained graphs into forward passes under an edge budget (bounded memory for large cells).

The model's memory grows with the edges of a forward pass (a few kB per edge for the ``cpu`` preset: the
per-edge tensor-product inputs, weights and messages of one layer), not with the number of graphs, so
passes are cut by edges: consecutive graphs go into one PyG ``Batch`` until the next one would exceed the
budget. The 21 graphs of one large material may span several passes; graphs are independent, so the
predictions do not depend on where the cuts fall.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from torch_geometric.data import Batch, Data
from torch_geometric.loader import DynamicBatchSampler

DEFAULT_MAX_EDGES_PER_PASS: int = 200_000
"""Edges per forward pass: about 1 GB peak for the ``cpu`` preset (docs/RESULTS.md, "Performance")."""


def edge_budget_batches(graphs: Sequence[Data], max_edges: int | None = DEFAULT_MAX_EDGES_PER_PASS) -> Iterator[Batch]:
    """Consecutive ``graphs`` collated into batches of at most ``max_edges`` edges (None: one batch).

    A graph with more edges than the budget forms a batch of its own. Order is preserved.
    """
    if max_edges is not None and max_edges < 1:
        raise ValueError(f"max_edges must be positive or None, got {max_edges}.")
    if max_edges is None:
        if len(graphs):
            yield Batch.from_data_list(list(graphs))
        return
    for indices in DynamicBatchSampler(graphs, max_edges, mode="edge"):  # in order; a too-large graph goes alone
        yield Batch.from_data_list([graphs[k] for k in indices])
