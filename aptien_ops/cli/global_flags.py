"""Global flags anywhere on the line, as people type them (SPEC §5).

``aptien-ops tenant list --json`` means ``aptien-ops --json tenant list``. Click only reads
the top-level group's options before the group name, so :func:`hoisted` moves them there
first. It reads the line as Click will: an option's value is never taken for a flag
(``--reason --json`` is a reason), nothing after ``--`` is touched, and a command's own option
of the same name stays the command's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click


@dataclass
class CommandLine:
    """A command line split into the global options (in the order given) and the rest."""

    globals: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    json: bool = False
    """``--json`` was given as a flag (not as some option's value)."""

    @property
    def argv(self) -> list[str]:
        return [*self.globals, *self.rest]


def _options(command: click.Command) -> dict[str, click.Option]:
    """Every spelling of ``command``'s own options (``--flag/--no-flag`` both)."""
    names: dict[str, click.Option] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                names[name] = param
    return names


def _values(option: click.Option) -> int:
    """How many of the following tokens are ``option``'s value."""
    return 0 if option.is_flag or option.count else max(option.nargs, 1)


def hoisted(root: click.Group, argv: list[str]) -> CommandLine:
    """``argv`` with ``root``'s (non-eager) options moved in front of the first command."""
    movable = {
        name: option
        for name, option in _options(root).items()
        if not option.is_eager  # --help, --version: answered where they stand
    }
    line = CommandLine()
    command: click.Command = root
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            line.rest.extend(argv[i:])
            break
        name = token.partition("=")[0] if token.startswith("--") else token
        own = _options(command).get(name) if command is not root else None
        option = own or movable.get(name)
        if option is None:
            line.rest.append(token)
            if not token.startswith("-") and isinstance(command, click.Group):
                command = command.commands.get(token, command)
            i += 1
            continue
        takes = 0 if token != name else _values(option)  # --config=PATH: one token
        words = argv[i : i + 1 + takes]
        (line.rest if own else line.globals).extend(words)
        if not own and "--json" in option.opts:
            line.json = True
        i += 1 + takes
    return line
