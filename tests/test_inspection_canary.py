"""Payloads stay sealed: a canary planted in every plaintext, and the ciphertext itself, never
reach any output of ``inspect`` — stdout, stderr, exports, the structlog file, the ops log — on
SQLite or PostgreSQL; no inspection code names a payload column; and no console code can
decrypt a tenant payload (only the seeding code, acting as the platform, holds those keys)."""

from __future__ import annotations

import ast
import base64
import json
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aptien_ops.backends.sandbox_platform import platform_key
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import utcnow
from aptien_ops.inspect_query import AuditFilters, LoginFilters, Position, Query

from cli_runner import Result, run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind, config
    eu_cluster_kind,
    eu_fleet_config,
    sandbox_with_eu_on,
)
from tenant_seeding import france_and_canada

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def marker() -> str:
    return f"CANARY-{secrets.token_hex(12)}"


@pytest.fixture
def seeded(config: Path, marker: str) -> Iterator[tuple[Console, list[str]]]:
    """Two tenants (eu: the cluster under test; us: SQLite) seeded through ``sandbox seed``:
    one client in France and one in Canada, one tenant in each region, always."""
    console = open_console(config)
    request = france_and_canada(console, users=12, events=600, logins=3000, marker=marker)
    seeded = console.seeding.seed(request)
    yield console, [s.tenant for s in seeded]
    console.close()


def payloads(console: Console, tenant: str) -> list[bytes]:
    """A few sealed payloads, read as the cluster admin (the test, not the console)."""
    store = console.ctx.store(console.tenants.show(tenant).cluster or "")
    with store.connect(tenant) as conn:
        rows = conn.execute("SELECT payload FROM audit_events ORDER BY id DESC LIMIT 3").fetchall()
        rows += conn.execute("SELECT payload FROM records LIMIT 2").fetchall()
    return [bytes(r[0]) for r in rows]


def forbidden_forms(marker: str, sealed: list[bytes]) -> list[bytes]:
    """The marker, and each payload raw, in hex and in base64 at every alignment."""
    forms = [marker.encode(), marker.lower().encode()]
    for p in sealed:
        body = p[12:28]  # ciphertext proper, past the nonce
        forms += [p, p.hex().encode(), p.hex().upper().encode(), body.hex().encode(), body]
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms += [encode(p)] + [encode(p[k : k + 15]) for k in (12, 13, 14)]
    return forms


def first_plaintext(console: Console, tenant: str) -> tuple[bytes, bytes]:
    """The tenant's first audit payload, sealed and opened with the sandbox's platform key
    (the test acting as the platform; InvalidTag if another key sealed it)."""
    key_id, key = platform_key(console.settings.data_dir / "platform-keys", tenant, create=False)
    store = console.ctx.store(console.tenants.show(tenant).cluster or "")
    with store.connect(tenant) as conn:
        datasheet, record, sealed = conn.execute(
            "SELECT datasheet, record_id, payload FROM audit_events LIMIT 1"
        ).fetchone()
    plain = AESGCM(key).decrypt(
        bytes(sealed)[:12],
        bytes(sealed)[12:],
        f"{tenant}/audit_events/{datasheet}/{record}".encode(),
    )
    return bytes(sealed), plain


def test_the_canary_is_really_in_every_plaintext(
    seeded: tuple[Console, list[str]], marker: str
) -> None:
    console, tenants = seeded
    for tenant in tenants:
        sealed, plain = first_plaintext(console, tenant)
        assert marker.encode() in plain and marker.encode() not in sealed


def test_two_sandboxes_seeding_on_one_shared_server_never_meet(
    seeded: tuple[Console, list[str]],
    marker: str,
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """Another sandbox (as the next test on this worker) seeding beside this one on the same
    eu cluster gets tenants of its own, France and Canada again, sealed under its own keys;
    ours keep theirs."""
    console, ours = seeded
    pg = request.getfixturevalue("pg_server") if kind == "postgresql" else None
    other = open_console(sandbox_with_eu_on(kind, tmp_path / "other", pg))
    try:
        wanted = france_and_canada(other, users=3, events=5, logins=5, marker="OTHER-CANARY")
        theirs = [s.tenant for s in other.seeding.seed(wanted)]
        assert len(theirs) == 2 and not set(theirs) & set(ours)
        for tenant in theirs:
            assert b"OTHER-CANARY" in first_plaintext(other, tenant)[1]
        for tenant in ours:
            assert marker.encode() in first_plaintext(console, tenant)[1]
    finally:
        other.close()


def test_no_inspect_output_log_or_export_carries_the_canary_or_ciphertext(
    seeded: tuple[Console, list[str]], marker: str, config: Path, tmp_path: Path
) -> None:
    console, tenants = seeded
    sealed = [p for t in tenants for p in payloads(console, t)]
    outputs: list[bytes] = []

    def sam(*args: str | Path) -> Result:
        result = run_cli(*args, config=config, operator="sam")
        assert result.code in (0, 2), (args, result.stderr)
        outputs.extend([result.stdout.encode(), result.stderr.encode()])
        return result

    exports = tmp_path / "exports"
    exports.mkdir()
    for tenant in tenants:
        email = sam(
            "--json", "inspect", "logins", tenant, "--result", "success", "--limit", "1"
        ).json()["rows"][0]["user_email"]
        for mode in ([], ["--json"], ["--verbose"]):
            page = sam(*mode, "inspect", "logins", tenant, "--limit", "200")
            sam(*mode, "inspect", "logins", tenant, "--failed", "--since", "91d", "--user", email)
            sam(*mode, "inspect", "audit", tenant, "--limit", "300")
            sam(
                *mode,
                "inspect",
                "audit",
                tenant,
                "--datasheet",
                "contacts",
                "--action",
                "update",
                "--since",
                "30d",
            )
            sam(*mode, "inspect", "summary", tenant, "--since", "91d")
            sam(*mode, "inspect", "summary", tenant, "--since", "2d", "--per", "hour")
            sam(*mode, "inspect", "user", email)
            sam(*mode, "inspect", "audit", tenant, "--after", "forged-cursor")
        cursor = json.loads(sam("--json", "inspect", "audit", tenant, "--limit", "100").stdout)[
            "next_cursor"
        ]
        sam("inspect", "audit", tenant, "--limit", "100", "--after", cursor)
        assert page.stdout.count("\n") == 201
        for kind in ("logins", "audit"):
            for fmt in ("jsonl", "csv"):
                sam(
                    "--json",
                    "inspect",
                    "export",
                    tenant,
                    "--kind",
                    kind,
                    "--format",
                    fmt,
                    "--output",
                    exports / f"{tenant}-{kind}.{fmt}",
                    "--reason",
                    "canary test",
                )
    files = sorted(exports.iterdir())
    assert len(files) == 8 and all(f.stat().st_size > 1000 for f in files)
    outputs += [f.read_bytes() for f in files]
    outputs.append(console.settings.logging.file.read_bytes())
    outputs.append(
        run_cli("--json", "ops-log", "list", "--limit", "100000", config=config).stdout.encode()
    )
    haystack = b"\n".join(outputs)
    assert b"inspect.export" in haystack and len(haystack) > 100_000
    for form in forbidden_forms(marker, sealed):
        assert form not in haystack, f"leaked: {form[:24]!r}"


def test_every_statement_the_sqlite_reader_runs_stays_on_metadata(
    seeded: tuple[Console, list[str]], config: Path
) -> None:
    console, tenants = seeded
    us = next(
        t for t in tenants if console.tenants.show(t).region == "us"
    )  # us is SQLite in every variant
    sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
    reader = sam.inspection.new_reader(console.tenants.show(us).cluster or "")
    statements: list[str] = []
    try:
        reader.session(us).set_trace_callback(statements.append)  # type: ignore[attr-defined]
        now = utcnow()
        queries = (
            LoginFilters().resolve(now),
            LoginFilters(since="7d", failed=True, user="a@x", ip="192.0.2.1").resolve(now),
            AuditFilters().resolve(now),
            AuditFilters(
                since="9d", until="1d", actor="a", action="update", datasheet="contacts", record="r"
            ).resolve(now),
        )
        for query in queries:
            method = reader.logins if query.kind == "logins" else reader.audit
            method(us, query)
            method(us, query.following(Position(now, 10**6)))
        reader.audit(us, Query("audit", limit=5))
        # a successful login's user exists (failed attempts may name unknown users)
        email = next(
            e.user_email
            for e in reader.logins(us, Query("logins", limit=200))
            if e.result == "success"
        )
        assert reader.find_user(us, email) is not None
        reader.ips_seen_before(us, ["192.0.2.1", "203.0.113.9"], now)
    finally:
        reader.close()
        sam.close()
    assert len(statements) >= 10
    for statement in statements:
        assert "payload" not in statement.replace("payload_size", ""), statement


# ----------------------------------------------------------------------------- the source


def _strings_and_names(path: Path) -> tuple[list[str], set[str]]:
    """Non-docstring string literals and every identifier of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    strings = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    return strings, names


def _mentions_payload(text: str) -> bool:
    return "payload" in text.lower().replace("payload_size", "")


#: The sandbox's stand-in for the platform: the only code that holds tenant payload keys, and so
#: no part of the console.
PLATFORM = REPO / "backends" / "sandbox_platform"


def _console_modules() -> list[Path]:
    return sorted(
        p
        for d in ("aptien_ops", "screens", "backends")
        for p in (REPO / d).rglob("*.py")
        if PLATFORM not in p.parents
    )


def test_no_inspection_code_names_a_payload_column_in_sql_or_code() -> None:
    # By path, so every module of a package whose folder names inspection is read too.
    modules = {p.relative_to(REPO).as_posix(): p for p in _console_modules()}
    inspection = {name: p for name, p in modules.items() if "inspect" in name}
    assert set(inspection) >= {
        "aptien_ops/inspect_query.py",
        "aptien_ops/ports/inspection.py",
        "aptien_ops/services/inspection.py",
        "aptien_ops/cli/inspect.py",
        "backends/inspection_readers/__init__.py",
        "backends/inspection_readers/queries.py",
        "backends/inspection_readers/sessions.py",
        "backends/inspection_readers/postgres.py",
        "backends/inspection_readers/sqlite.py",
    }
    for path in inspection.values():
        strings, names = _strings_and_names(path)
        assert not [s for s in strings if _mentions_payload(s)], path
        assert not [n for n in names if _mentions_payload(n)], path
    source = (REPO / "backends" / "postgres_tenants.py").read_text()
    connect = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == "connect_as_inspector"
    )
    body = ast.get_source_segment(source, connect) or ""
    assert "SET search_path" in body
    assert not _mentions_payload(body.split('"""')[0] + body.split('"""')[-1])


_DECRYPTING = {
    "AESGCM",
    "AESCCM",
    "AESSIV",
    "AESOCB3",
    "ChaCha20Poly1305",
    "Cipher",
    "decrypt",
    "decrypt_io",
    "unseal",
}


def test_the_console_holds_no_tenant_payload_key_and_cannot_decrypt_a_payload() -> None:
    decrypting = []
    for path in _console_modules():
        strings, names = _strings_and_names(path)
        relative = path.relative_to(REPO).as_posix()
        # Only the platform's seeding reads the tenant keys; the seed service only names their
        # directory.
        assert "platform_key" not in names, relative
        if relative != "aptien_ops/services/sandbox_seed.py":
            assert not [s for s in strings if "platform-keys" in s], relative
        if names & _DECRYPTING:
            decrypting.append(relative)
            assert not [s for s in strings if _mentions_payload(s)], relative
            assert not [n for n in names if _mentions_payload(n)], relative
    # Region keys unseal owner passwords and backup identities; age opens whole backups. None of
    # them touches a payload column, which is what the loop above proves for each.
    assert "backends/region_keys.py" in decrypting
    # What the scan leaves out is the platform's seeding, and it is the code that reads the keys.
    platform = sorted(PLATFORM.rglob("*.py"))
    assert PLATFORM / "keys.py" in platform
    assert any("platform_key" in _strings_and_names(p)[1] for p in platform)
    config_text = (REPO / "aptien_ops" / "default_ops.toml").read_text()
    assert "platform-keys" not in config_text and "platform_key" not in config_text


def test_the_console_reaches_the_sandbox_platform_only_through_the_registry() -> None:
    named = []
    for path in _console_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if "sandbox_platform" in m], path
        if [s for s in _strings_and_names(path)[0] if "sandbox_platform" in s]:
            named.append(path.relative_to(REPO).as_posix())
    assert named == ["backends/__init__.py"]


def test_the_sqlite_authorizer_is_what_keeps_payloads_out(tmp_path: Path) -> None:
    from aptien_ops.backends.inspection_readers import metadata_only

    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute(
        "CREATE TABLE audit_events"
        " (id INTEGER PRIMARY KEY, at TEXT, payload_size INT, payload BLOB)"
    )
    conn.set_authorizer(metadata_only)
    assert conn.execute("SELECT id, at, payload_size FROM audit_events").fetchall() == []
    with pytest.raises(sqlite3.DatabaseError, match="prohibited"):
        conn.execute("SELECT hex(payload) FROM audit_events")


def test_importing_the_inspection_command_loads_no_backend() -> None:
    probe = (
        "import sys, json\n"
        "import aptien_ops.cli.inspect, aptien_ops.services.inspection, aptien_ops.inspect_query\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "                        if m.split('.')[0] in ('psycopg', 'textual')\n"
        "                        or m.startswith('aptien_ops.backends'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert json.loads(out.stdout) == []
