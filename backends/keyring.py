"""A region's keys on the service account's disk: made once by ``keys init``, never replaced.

The sealing key (AES-256, seals owner passwords and backup identities in the catalog) and the
signing key (Ed25519, signs backup manifests and ops-log checkpoints) are 32 random bytes in
hex, mode 0600, in a 0700 directory; the signing key's public half is written beside them as
PEM for the disaster-recovery runbook and the escrow record.
"""

from __future__ import annotations

import os

from aptien_ops.backends.backup_signing import (
    RegionSigner,
    public_key_path,
    public_pem,
    signing_key_path,
)
from aptien_ops.backends.region_keys import RegionSealer
from aptien_ops.config import RegionSettings
from aptien_ops.errors import Unavailable
from aptien_ops.keyfiles import create_exclusively
from aptien_ops.ports import Keyring, RegionKeyFiles


class FileKeyring:
    """Implements :class:`aptien_ops.ports.Keyring`."""

    def __init__(self, *, strict_modes: bool = False) -> None:
        """``strict_modes`` (production): a key that exists already must be private."""
        self.strict_modes = strict_modes

    def init(self, region: RegionSettings) -> RegionKeyFiles:
        sealing, signing = region.key_file, signing_key_path(region)
        created = []
        try:
            # Loading checks an existing key (hex, 32 bytes); a missing one is made.
            created += [] if sealing.exists() else ["sealing"]
            RegionSealer(sealing, create=True, strict_modes=self.strict_modes)
            created += [] if signing.exists() else ["signing"]
            signer = RegionSigner(signing, create=True, strict_modes=self.strict_modes)
            pem = public_pem(signer)
            public = public_key_path(region)
            if not public.exists():
                create_exclusively(public, pem.encode("ascii"))
                os.chmod(public, 0o644)  # the public half is meant to be read
        except OSError as exc:
            raise Unavailable(f"cannot write the keys of region {region.name}: {exc}") from None
        return RegionKeyFiles(
            region.name, sealing, signing, tuple(created), pem, signer.fingerprint
        )


_: type[Keyring] = FileKeyring
