"""The embedded sandbox: a self-contained console on this machine, with demo content."""

from __future__ import annotations

import os
from pathlib import Path

from aptien_ops.config import DEFAULT_CONFIG, load_settings, user_data_dir
from aptien_ops.errors import Conflict, InvalidInput

#: Demo clients across both regions and the edge cases of the region rule.
DEMO_TENANTS: tuple[tuple[str, str, str, str], ...] = (
    ("acme-gmbh", "DE", "Greta Vogel", "greta.vogel@acme.example"),
    ("nordlicht-as", "NO", "Ola Nordmann", "ola@nordlicht.example"),
    ("savanna-logistics", "KE", "Wanjiru Kamau", "wanjiru@savanna.example"),
    ("nile-textiles", "EG", "Omar Farouk", "omar@nile-textiles.example"),
    ("anatolia-foods", "TR", "Elif Yilmaz", "elif@anatolia.example"),
    ("lagos-fintech", "NG", "Chidi Okafor", "chidi@lagos-fintech.example"),
    ("maple-health", "CA", "Chloe Tremblay", "chloe@maple.example"),
    ("gotham-legal", "US", "Jordan Lee", "jordan@gotham-legal.example"),
    ("paulista-retail", "BR", "Ana Souza", "ana@paulista.example"),
    ("sakura-robotics", "JP", "Haruto Sato", "haruto@sakura.example"),
    ("outback-mining", "AU", "Mia Wilson", "mia@outback.example"),
    ("deccan-pharma", "IN", "Priya Sharma", "priya@deccan.example"),
)


def default_sandbox_dir() -> Path:
    return user_data_dir() / "sandbox"


def write_sandbox_config(directory: Path) -> tuple[Path, bool]:
    """Write ``DIR/ops.toml`` (the embedded default, rooted in DIR). Returns (path, created).

    Raises: InvalidInput if DIR is a file or a directory the system refuses (a name too long,
    no permission); Conflict if DIR holds a non-sandbox config.
    """
    try:
        if directory.exists() and not directory.is_dir():
            raise InvalidInput(f"{directory} exists and is not a directory")
        config = directory / "ops.toml"
        if config.exists():
            if load_settings(config).mode != "sandbox":
                raise Conflict(f"{config} is a production config; sandbox init will not touch it")
            return config, False
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
            '# data_dir = "."', 'data_dir = "."', 1
        )
        partial = config.with_suffix(".toml.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, config)
    except OSError as refused:
        raise InvalidInput(f"cannot write a sandbox into {directory}: {refused.strerror}") from None
    return config, True
