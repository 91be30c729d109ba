"""The Backups screen lists the region's stores on every load, to mark what is missing: a
listing verifies again only the manifests whose files changed since it last verified them,
and still reports at once a backup whose data file or manifest went."""

from __future__ import annotations

import os
from pathlib import Path

from test_backups_cli import backup, store_dir, tenant  # noqa: F401 - tenant is a fixture

from aptien_ops.backends.backup_files import DATA, MANIFEST
from aptien_ops.composition import open_console
from aptien_ops.domain.backup_index import BackupQuery

from fleet_configs import eu_cluster_kind, eu_fleet_config  # noqa: F401 - fixtures


def test_a_second_listing_verifies_only_what_changed_and_still_finds_what_is_missing(
    config: Path,
    tenant: str,  # noqa: F811 - the fixture
) -> None:
    first, second, third = (backup(config, tenant)[0] for _ in range(3))
    console = open_console(config)
    try:
        signer = console.backups.repository("eu")._signer  # type: ignore[attr-defined]
        verified: list[object] = []
        verify = signer.verify
        signer.verify = lambda *a: (verified.append(a), verify(*a))[1]

        def statuses() -> dict[str, str]:
            page = console.backups.page(BackupQuery(None, None), limit=100)
            return {r.record.id: r.status for r in page.rows}

        assert "missing" not in statuses().values() and len(verified) == 3
        assert "missing" not in statuses().values() and len(verified) == 3  # none again
        folder = store_dir(config) / tenant
        (folder / f"{second}{DATA}").unlink()
        (folder / f"{third}{MANIFEST}").unlink()
        manifest = folder / f"{first}{MANIFEST}"
        os.utime(manifest)  # touched: verified again
        shown = statuses()
        assert (shown[second], shown[third]) == ("missing", "missing")
        # Read again: the touched one, and the one whose data file went (to say why).
        assert shown[first] != "missing" and len(verified) == 5
    finally:
        console.close()
