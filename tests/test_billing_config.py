"""``[billing]`` in ops.toml: absent, billing is not connected; present, its keys are checked
with the file, key and reason named, and no secret is accepted in the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config import GOOD, refused, write

from aptien_ops.config import load_settings
from aptien_ops.config.settings import SecretRef


def test_without_a_billing_section_billing_is_not_connected(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, GOOD)).billing is None
    assert load_settings(None).billing is None  # the embedded sandbox


def test_a_billing_section_is_read(tmp_path: Path) -> None:
    section = (
        '\n[billing]\napi_key_env = "STRIPE_KEY"\nwebhook_secret_file = "/etc/ops/whsec"\n'
        'api_base = "http://127.0.0.1:12111/"\nnotice_days = [7, 30, 1, 7]\n'
        "webhook_tolerance_seconds = 60\nmax_attempts = 3\n"
    )
    billing = load_settings(write(tmp_path, GOOD + section)).billing
    assert billing is not None
    assert billing.api_key == SecretRef(env="STRIPE_KEY")
    assert billing.webhook_secret == SecretRef(file=Path("/etc/ops/whsec"))
    assert billing.api_base == "http://127.0.0.1:12111"
    assert billing.notice_days == (30, 7, 1)
    assert (billing.webhook_tolerance_seconds, billing.max_attempts) == (60, 3)
    default = load_settings(write(tmp_path, GOOD + '[billing]\napi_key_env = "K"\n')).billing
    assert default is not None and default.api_base is None
    assert (default.notice_days, default.webhook_tolerance_seconds) == ((30, 7, 1), 300)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("notice_days = [30]", "billing.api_key_file: is required"),
        ('api_key = "sk_live_abc123"', "billing.api_key: secrets may not be written"),
        ('api_key_env = "K"\nwebhook_secret = "whsec_x"', "billing.webhook_secret: secrets"),
        ('api_key_env = "K"\napi_key_file = "/k"', "give api_key_file or api_key_env, not both"),
        ('api_key_env = "K"\napi_base = "http://stripe.example"', "http:// only on loopback"),
        ('api_key_env = "K"\napi_base = "ftp://127.0.0.1"', "must be an https:// URL"),
        ('api_key_env = "K"\napi_base = "https://u:p@x.example"', "must not hold a user"),
        ('api_key_env = "K"\napi_base = "https://x.example/v1"', "a server's address only"),
        ('api_key_env = "K"\nnotice_days = []', "billing.notice_days: must be a list"),
        ('api_key_env = "K"\nnotice_days = [0]', "billing.notice_days: must be a list"),
        ('api_key_env = "K"\nmax_attempts = 0', "billing.max_attempts: must be between 1 and 20"),
        ('api_key_env = "K"\nwebhook_tolerance_seconds = 0', "must be between 1 and 86400"),
        ('api_key_env = "K"\ncolour = "blue"', "billing.colour: unknown key"),
    ],
)
def test_a_wrong_billing_section_is_refused(tmp_path: Path, section: str, expected: str) -> None:
    message = refused(tmp_path, f"{GOOD}\n[billing]\n{section}\n")
    assert expected in message
    assert "sk_live_abc123" not in message and "whsec_x" not in message
