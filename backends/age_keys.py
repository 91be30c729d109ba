"""Backup identities: one age X25519 key pair per tenant (pyrage, imported when first needed)."""

from __future__ import annotations


class AgeBackupKeys:
    """Implements :class:`aptien_ops.ports.BackupKeys`."""

    def generate(self) -> tuple[str, str]:
        from pyrage import x25519

        identity = x25519.Identity.generate()
        return str(identity.to_public()), str(identity)
