"""The scripted command line: the same services as the TUI, ``--json`` and exit codes."""
