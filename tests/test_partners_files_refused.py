"""Partner commands that take a file authorise before they touch it: a viewer or an operator
naming a missing, huge or hostile file is refused (exit 4, one ``denied`` entry) and the file
is never opened, not stat'ed by the command line, not hashed, not read."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from partner_world import cli_partner, pat

from cli_runner import run_cli

#: Paths a running test watches, and the file-system events seen on them (``open``,
#: ``os.listdir``, ``os.scandir``…); the audit hook cannot be removed, so it stays cheap.
_WATCHED: dict[str, list[str]] = {}


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WATCHED and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])  # type: ignore[arg-type]
        for watched, seen in _WATCHED.items():
            if path == watched or path.startswith(watched + os.sep):
                seen.append(event)


sys.addaudithook(_audit)


@contextmanager
def _watching(path: Path) -> Iterator[list[str]]:
    seen: list[str] = []
    _WATCHED[str(path)] = seen
    try:
        yield seen
    finally:
        del _WATCHED[str(path)]


def _huge(tmp: Path) -> Path:
    """A 64 GiB sparse file: hashing it would take minutes."""
    path = tmp / "signed.pdf"
    with open(path, "wb") as fh:
        fh.truncate(64 << 30)
    return path


def _outcomes(config: Path, action: str) -> list[str]:
    """Outcomes of ``action``'s entries, newest first."""
    entries = run_cli("--json", "ops-log", "list", "--limit", "1000", config=config).json()
    return [e["outcome"] for e in entries if e["action"] == action]


def _refused(config: Path, who: str, *args: str | Path) -> None:
    result = run_cli("partner", *args, config=config, operator=who)
    assert result.code == 4, (who, args, result.stderr)
    assert result.stdout == ""
    assert "cannot read" not in result.stderr and "does not exist" not in result.stderr


AGREEMENT = ("agreement", "add", "nordic-sales", "PA-2", "--signed-on", "2020-01-01")


def test_agreement_add_authorises_before_it_hashes_the_document(
    catalog_config: Path, tmp_path: Path
) -> None:
    cli_partner(catalog_config)
    huge, missing = _huge(tmp_path), tmp_path / "missing.pdf"
    for who in ("vic", "olga"):
        for document in (huge, missing):
            with _watching(document) as seen:
                _refused(
                    catalog_config,
                    who,
                    *AGREEMENT,
                    "--effective-from",
                    "2020-01-01",
                    "--document",
                    document,
                )
            assert seen == [], (who, document, seen)
    assert _outcomes(catalog_config, "partner.agreement") == ["denied"] * 4 + ["ok"]
    # The partner manager's document is hashed; a missing one is refused (2) and logged.
    small = tmp_path / "small.pdf"
    small.write_bytes(b"%PDF signed")
    added = pat(catalog_config, *AGREEMENT, "--effective-from", "2020-01-01", "--document", small)
    assert isinstance(added, dict)
    assert added["document_sha256"] == hashlib.sha256(b"%PDF signed").hexdigest()
    gone = run_cli(
        "partner",
        *AGREEMENT,
        "--effective-from",
        "2020-01-02",
        "--document",
        missing,
        config=catalog_config,
        operator="pat",
    )
    assert gone.code == 2 and "--document: cannot read the file" in gone.stderr
    assert _outcomes(catalog_config, "partner.agreement")[:2] == ["failed:invalid", "ok"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_import_authorises_before_it_looks_for_the_file(
    catalog_config: Path, tmp_path: Path, dry_run: bool
) -> None:
    extra = ("--dry-run",) if dry_run else ()
    huge, missing = _huge(tmp_path), tmp_path / "missing.csv"
    for who in ("vic", "olga"):
        for path in (huge, missing):
            with _watching(path) as seen:
                _refused(catalog_config, who, "import", path, *extra)
            assert seen == [], (who, path, seen)
    assert _outcomes(catalog_config, "partner.import") == ["denied"] * 4


def test_publish_authorises_before_it_looks_at_the_output(
    catalog_config: Path, tmp_path: Path
) -> None:
    nowhere = tmp_path / "no-such-dir"
    for who in ("vic", "olga"):
        for fmt, output in (("html", nowhere / "partners.html"), ("pdf", tmp_path / "p.pdf")):
            with _watching(nowhere) as seen:
                _refused(catalog_config, who, "publish", "--format", fmt, "--output", output)
            assert seen == [], (who, seen)
    assert _outcomes(catalog_config, "partner.publish") == ["denied"] * 4
    assert not nowhere.exists() and not (tmp_path / "p.pdf").exists()
