"""Aptien Ops: the operations console of the Aptien platform.

This package is the headless core shared by the scripted CLI and the Textual TUI. It never
imports Textual, ``screens`` or a backend module at import time; backends are loaded by name
from the configuration (see :mod:`aptien_ops.composition`).
"""

__version__ = "0.1.0"
