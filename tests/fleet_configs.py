"""Sandbox configurations whose eu region runs on SQLite or on the suite's real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from aptien_ops.sandbox import write_sandbox_config


def sandbox_with_eu_on(kind: str, directory: Path, pg_server: object | None = None, *, capacity: int = 20000) -> Path:
    """Write a sandbox whose eu cluster is ``kind`` (us stays SQLite: two regions never share a server)."""
    config, _ = write_sandbox_config(directory)
    text = config.read_text()
    if kind == "postgresql":
        assert pg_server is not None
        url = pg_server.url()  # type: ignore[attr-defined]
        text = text.replace(
            'name = "eu-sandbox-1"\nkind = "sqlite"\nurl = "sqlite:///{data_dir}/tenants/eu-sandbox-1"',
            f'name = "eu-pg-1"\nkind = "postgresql"\nurl = "{url}"\ninspector_password_env = "APTIEN_TEST_INSPECTOR_PW"',
        )
    text = text.replace("capacity = 20000", f"capacity = {capacity}")
    config.write_text(text)
    return config
