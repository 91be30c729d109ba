"""The program's entry point (``python -m aptien_ops`` and the ``aptien-ops`` script): Ctrl-C
is taken care of before anything heavy is imported, so that even one pressed while the
command line is still loading ends it with exit 130 and one line."""

from __future__ import annotations

import sys
from typing import NoReturn

from aptien_ops.cli import interrupts


def main() -> NoReturn:
    interrupts.install()
    try:
        from aptien_ops.cli.main import main as command_line
    except KeyboardInterrupt:
        sys.exit(interrupts.stopped())
    command_line()


if __name__ == "__main__":
    main()
