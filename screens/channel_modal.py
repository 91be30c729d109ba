"""A dialog whose answer is the channels chosen in its ``#modal-channels`` list (an incident's
notices, an operational notice's send): Send (or Request) answers with them in the order the
engine runs them; none chosen is said in the dialog; Cancel or Esc backs out."""

from __future__ import annotations

from textual import on
from textual.widgets import Button, SelectionList

from aptien_ops.screens.modals import OpsModal


class ChannelsModal(OpsModal[tuple[str, ...]]):
    """Subclasses compose a ``SelectionList`` with the id ``modal-channels`` and the buttons
    ``modal-submit`` and ``modal-cancel``, and set ``channel_order``: the channels in the order
    the engine runs them."""

    channel_order: tuple[str, ...] = ()

    def chosen(self) -> tuple[str, ...]:
        picked = set(self.query_one("#modal-channels", SelectionList).selected)
        return tuple(c for c in self.channel_order if c in picked)

    @on(Button.Pressed, "#modal-submit")
    def _submit(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self.show_problem(
                "choose at least one channel", focus=self.query_one("#modal-channels")
            )
            return
        self.dismiss(chosen)

    @on(Button.Pressed, "#modal-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
