"""Run ``aptien-ops`` as a real subprocess, the way scripts, cron and runbooks do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error(self) -> dict[str, Any]:
        body = json.loads(self.stderr.strip().splitlines()[-1])
        return body["error"]


def run_cli(
    *args: str | Path,
    config: Path | None = None,
    operator: str | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> Result:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("APTIEN_OPS_OPERATOR", None)
    if operator:
        full_env["APTIEN_OPS_OPERATOR"] = operator
    argv = [sys.executable, "-m", "aptien_ops"]
    if config is not None:
        argv += ["--config", str(config)]
    proc = subprocess.run(
        [*argv, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
