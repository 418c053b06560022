"""Console: one block of plain text per alert on standard output, or one line per alert with
`brief = true` (control characters in user text are dropped, so a comment cannot move the
cursor or recolour the terminal)."""

from __future__ import annotations

import sys
from typing import TextIO

from alerts import safe_text
from alerts.sinks.base import Outgoing, Sink


class ConsoleSink(Sink):
    type = "console"
    stream: TextIO | None = None  # tests point this elsewhere; None is sys.stdout

    async def send(self, message: Outgoing) -> None:
        stream = self.stream or sys.stdout
        if self.config.brief:  # one line per alert (`brief = true`, as the demo's live view)
            stream.write(safe_text.plain(message.title_line()) + "\n")
        else:
            stream.write(safe_text.plain("\n".join(message.plain_lines())) + "\n\n")
        stream.flush()
        self.meter.sent()
