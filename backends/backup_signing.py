"""The region's Ed25519 signing key: signs every backup manifest of the region's store.

The key lives in ``keys/region-<r>.sign.key`` beside the region's sealing key (hex of the
32-byte private key, mode ``0600``). A manifest is signed over its canonical JSON (sorted keys,
no spaces, UTF-8) without the ``signature`` field, so any edit of any field, or a manifest
moved to another region, fails verification.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aptien_ops.config import RegionSettings
from aptien_ops.keyfiles import ESCROW_HINT, SIGNING_KEY, load_or_create_key

SIGNATURE_PREFIX = "ed25519:"


def signing_key_path(region: RegionSettings) -> Path:
    """``region-<r>.sign.key`` in the directory of the region's key file."""
    return region.signing_key_file


def canonical(document: Mapping[str, object]) -> bytes:
    """The bytes a signature covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _load(path: Path, create: bool, strict_modes: bool) -> Ed25519PrivateKey:
    seed = load_or_create_key(
        path,
        create=create,
        what=SIGNING_KEY,
        hint=f"{ESCROW_HINT}; without it no manifest can be trusted",
        strict_modes=strict_modes,
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


class RegionSigner:
    """Signs and checks manifests with one region's key."""

    def __init__(self, key_file: Path, *, create: bool, strict_modes: bool = False) -> None:
        """Load the key, creating it (``0600``) if ``create`` and it is missing.

        Raises: ConfigError if the key is missing (and not to be created), unreadable or
        malformed; IntegrityFailure if ``strict_modes`` (production) and it is not private.
        """
        self._key = _load(key_file, create, strict_modes)
        self._public: Ed25519PublicKey = self._key.public_key()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._public

    @property
    def fingerprint(self) -> str:
        """``sha256:<first 16 hex>`` of the public key, to name the key in documents."""
        return "sha256:" + hashlib.sha256(self._public.public_bytes_raw()).hexdigest()[:16]

    def sign(self, document: Mapping[str, object]) -> str:
        """``ed25519:<base64>`` over :func:`canonical` of ``document``."""
        return SIGNATURE_PREFIX + base64.b64encode(self._key.sign(canonical(document))).decode(
            "ascii"
        )

    def verify(self, document: Mapping[str, object], signature: object) -> bool:
        """Whether ``signature`` is this region's signature of ``document``."""
        if not isinstance(signature, str) or not signature.startswith(SIGNATURE_PREFIX):
            return False
        try:
            raw = base64.b64decode(signature[len(SIGNATURE_PREFIX) :], validate=True)
            self._public.verify(raw, canonical(document))
        except (InvalidSignature, ValueError):
            return False
        return True


def public_key_path(region: RegionSettings) -> Path:
    """``region-<r>.sign.pub``: the signing key's public half (PEM), safe to publish."""
    return region.public_key_file


def public_pem(signer: RegionSigner) -> str:
    """The public key as PEM (SubjectPublicKeyInfo): what ``openssl pkeyutl -verify`` reads."""
    from cryptography.hazmat.primitives import serialization

    return signer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
