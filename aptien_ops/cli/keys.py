"""``keys`` commands: a region's keys, made once, for escrow."""

from __future__ import annotations

import click

from aptien_ops.cli.state import CliState, pass_state


@click.group("keys")
def keys() -> None:
    """A region's sealing key (owner passwords, backup identities) and signing key (backup
    manifests, ops-log checkpoints).

    \b
    Example:
      sudo -u aptien-ops aptien-ops keys init --region eu
    """


@keys.command("init")
@click.option("--region", required=True, help="The region whose keys to make.")
@pass_state
def keys_init(state: CliState, region: str) -> None:
    """Make the region's missing keys (an existing key is never replaced) and print the public
    signing key: publish it with the disaster-recovery runbook, and escrow both key files
    (e.g. split between two officers' sealed envelopes or an HSM-backed vault) before the
    first tenant is provisioned: without them no backup can be restored."""
    made = state.console().keys.init(region)
    created = ", ".join(made.created) if made.created else "none (both exist already)"
    human = (
        f"region {made.region}: keys created: {created}\n"
        f"sealing key  {made.sealing_key}\n"
        f"signing key  {made.signing_key}\n"
        f"public signing key ({made.fingerprint}), for the runbook:\n"
        f"{made.public_key_pem.rstrip()}\n"
        "escrow both key files now: a lost region key makes every sealed secret unreadable"
    )
    state.out(made.as_json(), human)
