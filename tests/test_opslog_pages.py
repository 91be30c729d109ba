"""The ops log is read page by page, by seq, from the newest entry back to the very first and
from the first up, on a SQLite and a PostgreSQL catalog (what the TUI's ops log pages with)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.errors import Forbidden, InvalidInput

from cli_runner import run_cli

#: More than one screenful of pages (the TUI reads 200 at a time).
REFUSALS = 260


@pytest.fixture
def config(catalog_config: Path) -> Path:
    return catalog_config


@pytest.fixture
def admin(config: Path) -> Iterator[Console]:
    """The admin's console on a log of ``REFUSALS`` denials after the catalog's first entry."""
    admin = open_console(config)
    viewer = open_console(config, env={"APTIEN_OPS_OPERATOR": "vic"})
    try:
        for n in range(REFUSALS):
            with pytest.raises(Forbidden):
                viewer.operators.add(f"intruder-{n}", ("viewer",))
        yield admin
    finally:
        viewer.close()
        admin.close()


def test_paging_back_by_seq_reaches_the_first_entry_of_the_log(admin: Console) -> None:
    page = admin.opslog.page(limit=100)
    total = page.total
    assert total == REFUSALS + 1 and page.newer == 0 and not page.has_newer
    seen = list(page.entries)
    while page.has_older:
        page = admin.opslog.page(limit=100, before=page.entries[-1].seq)
        assert page.newer == len(seen) and page.total == total
        seen += page.entries
    assert [e.seq for e in seen] == list(range(total, 0, -1))
    assert seen[-1].action == "catalog.init"
    past_the_end = admin.opslog.page(limit=100, before=1)
    assert past_the_end.entries == [] and past_the_end.newer == total


def test_the_oldest_page_is_one_jump_away_and_pages_up_from_there(admin: Console) -> None:
    oldest = admin.opslog.page(limit=100, after=0)
    total = oldest.total
    assert [e.seq for e in oldest.entries] == list(range(100, 0, -1))  # newest first, still
    assert oldest.newer == total - 100 and oldest.has_newer and not oldest.has_older
    up = admin.opslog.page(limit=100, after=100)
    assert [e.seq for e in up.entries] == list(range(200, 100, -1))
    assert up.newer == total - 200
    assert admin.opslog.page(limit=100, after=total).entries == []


def test_a_page_is_refused_for_bad_bounds_and_to_a_viewer(admin: Console, config: Path) -> None:
    with pytest.raises(InvalidInput):
        admin.opslog.page(limit=0)
    with pytest.raises(InvalidInput):
        admin.opslog.page(limit=10, before=5, after=1)
    viewer = open_console(config, env={"APTIEN_OPS_OPERATOR": "vic"})
    try:
        with pytest.raises(Forbidden):
            viewer.opslog.page()
    finally:
        viewer.close()


def test_the_command_line_pages_back_with_before(admin: Console, config: Path) -> None:
    seqs: list[int] = []
    args = ["--json", "ops-log", "list", "--limit", "100"]
    while True:
        result = run_cli(*args, *(["--before", str(seqs[-1])] if seqs else []), config=config)
        assert result.code == 0, result.stderr
        page = [e["seq"] for e in result.json()]
        if not page:
            break
        seqs += page
    assert seqs == list(range(REFUSALS + 1, 0, -1))


def json_of(config: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli("--json", *args, config=config)
    assert result.code == 0, result.stderr
    rows: list[dict[str, object]] = result.json()
    return rows


def test_ops_log_grep_finds_an_entry_older_than_any_page(admin: Console, config: Path) -> None:
    [entry] = json_of(config, "ops-log", "list", "--grep", "INTRUDER-0")
    assert entry["target"] == "intruder-0" and entry["outcome"] == "denied"
    assert len(json_of(config, "ops-log", "list", "--grep", "intruder-1", "--limit", "5")) == 5
    assert json_of(config, "ops-log", "list", "--grep", "intruder-%") == []  # a literal %
    page = admin.opslog.page(limit=10, grep="intruder-1")  # 1, 10–19, 100–199
    assert page.total == 111 and page.newer == 0 and page.grep == "intruder-1"
    assert page.as_json()["grep"] == "intruder-1"
    nxt = admin.opslog.page(limit=10, grep="intruder-1", before=page.entries[-1].seq)
    assert nxt.newer == 10 and nxt.entries[0].target == "intruder-189"
    text = run_cli("ops-log", "list", "--grep", "intruder-0", config=config)
    assert text.code == 0 and "intruder-0" in text.stdout and "intruder-1" not in text.stdout
