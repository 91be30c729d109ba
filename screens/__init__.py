"""The Textual face of Aptien Ops: the app, one module per screen, modals and their ``.tcss``.

Screens call services only (no SQL, no I/O of their own), always from worker threads.
Nothing is imported here so that ``aptien_ops`` stays free of Textual until the TUI starts.
"""
