"""The Fleet screen's clusters: a row per cluster (region, live tenants, capacity), and ``a`` on
one: announce maintenance there (the notice's draft form, kind and scope prefilled; with several
clusters, the first ``a`` from elsewhere moves the cursor to the clusters to choose one)."""

from __future__ import annotations

from collections.abc import Sequence

from aptien_ops.regions import RegionSummary
from aptien_ops.screens.base import OpsScreen, highlighted_key
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.formatting import count, plain
from aptien_ops.screens.lists import ListRow, ListTable

#: The clusters' rows: the name first, never cut.
CLUSTER_COLUMNS = (
    ColumnSpec("Cluster", 12, share=1, essential=True),
    ColumnSpec("Region", 6),
    ColumnSpec("Tenants", 7, justify="right"),
    ColumnSpec("Capacity", 8, justify="right"),
)


def cluster_rows(regions: Sequence[RegionSummary]) -> list[ListRow]:
    """A row per cluster of every region (keyed by the cluster's name)."""
    return [
        ListRow(c.name, (plain(c.name), r.name, count(c.tenants), count(c.capacity)))
        for r in regions
        for c in r.clusters
    ]


def announce_maintenance(screen: OpsScreen, clusters: ListTable) -> None:
    """The draft form of a maintenance notice to the tenants on the highlighted cluster. With
    several clusters and the cursor elsewhere, the first ``a`` moves to the clusters' table
    (which cluster is meant is the operator's choice, never the first row by default)."""
    from aptien_ops.screens.notices import open_draft
    from aptien_ops.services.op_notices import NoticeDraft

    cluster = highlighted_key(clusters)
    if cluster is None:
        screen.notify("no cluster listed yet", severity="warning")
        return
    if clusters.row_count > 1 and not clusters.has_focus:
        clusters.focus()
        screen.notify(f"choose the cluster (↑/↓), then a again · now on {cluster}", markup=False)
        return
    open_draft(screen, NoticeDraft("maintenance", "", "", clusters=(cluster,)))
