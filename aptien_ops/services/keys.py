"""``keys init``: a region's sealing and signing keys, made once, for escrow."""

from __future__ import annotations

from collections.abc import Callable

from aptien_ops.config import region_or_fail
from aptien_ops.permissions import Action
from aptien_ops.ports import Keyring, RegionKeyFiles
from aptien_ops.services.context import OpsContext


class KeyService:
    def __init__(self, ctx: OpsContext, keyring: Callable[[], Keyring]) -> None:
        self.ctx = ctx
        self._keyring = keyring

    def init(self, region: str) -> RegionKeyFiles:
        """Make the region's missing keys (never replacing one) and return their public half.

        Raises: InvalidInput (unknown region), Forbidden, ConfigError (a key file is malformed
        or not private), Unavailable.
        """
        settings = region_or_fail(self.ctx.settings, region)
        with self.ctx.audited(Action.KEYS_INIT, region) as attempt:
            keys = self._keyring().init(settings)
            attempt.ok(created=list(keys.created), fingerprint=keys.fingerprint)
        return keys
