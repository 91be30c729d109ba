"""What the console knows of the tenant schema: its version and which columns are metadata.

The DDL itself lives with each backend (``backends/tenant_schema.py``). The column allow-lists
below are the single source for both the PostgreSQL inspector role's column-level grants and
the SQLite readers' explicit ``SELECT`` lists: a ``payload`` column is never in them.
"""

from __future__ import annotations

#: The schema version a newly provisioned tenant gets; ``fleet check`` reports anything older.
TENANT_SCHEMA_VERSION = 3

#: Tables written by the platform, and the columns the console may read from each.
METADATA_COLUMNS: dict[str, tuple[str, ...]] = {
    "tenant_meta": ("key", "value"),
    "users": ("id", "email", "created_at", "active", "is_admin"),
    "login_events": ("id", "at", "user_email", "ip", "user_agent", "result", "method"),
    "audit_events": (
        "id",
        "at",
        "actor",
        "action",
        "datasheet",
        "record_id",
        "key_id",
        "payload_size",
    ),
    "records": ("id", "datasheet", "created_at", "updated_at", "key_id", "payload_size"),
}

#: Columns holding ciphertext sealed with the tenant's own key. The console never reads them.
PAYLOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "audit_events": ("payload",),
    "records": ("payload",),
}

DATASHEETS = ("employees", "contacts", "applicants")
