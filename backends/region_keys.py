"""Region keys: AES-256-GCM sealing of small secrets kept in the catalog.

A region's key never leaves its key file; the catalog holds only sealed values, each bound to
its context (tenant and purpose) so a sealed value cannot be moved to another tenant.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aptien_ops.errors import IntegrityFailure
from aptien_ops.keyfiles import ESCROW_HINT, REGION_KEY, load_or_create_key

_PREFIX = "v1:"


class RegionSealer:
    """Implements :class:`aptien_ops.ports.Sealer` for one region."""

    def __init__(self, key_file: Path, *, create: bool, strict_modes: bool = False) -> None:
        """Raises: ConfigError (missing and not ``create``, unreadable, malformed),
        IntegrityFailure (``strict_modes`` and not private)."""
        key = load_or_create_key(
            key_file, create=create, what=REGION_KEY, hint=ESCROW_HINT, strict_modes=strict_modes
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, plaintext, context.encode())
        return _PREFIX + base64.b64encode(sealed).decode()

    def unseal(self, sealed: str, context: str) -> bytes:
        if not sealed.startswith(_PREFIX):
            raise IntegrityFailure(f"sealed secret for {context} has an unknown format")
        try:
            raw = base64.b64decode(sealed[len(_PREFIX) :], validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except (InvalidTag, ValueError):
            raise IntegrityFailure(
                f"sealed secret for {context} does not open with this region's key"
            ) from None
