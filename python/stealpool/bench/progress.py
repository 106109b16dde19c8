"""Progress lines on stderr, so stdout stays the report (or clean JSON)."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    def __init__(self, stream: Optional[TextIO] = None, enabled: bool = True) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._started = time.monotonic()
        self._label = ""
        # On a terminal each round overwrites the line; in a log, one line per row.
        self._overwrite = bool(getattr(self._stream, "isatty", lambda: False)())

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def row(self, label: str) -> None:
        self._label = label
        self._emit("{} ...".format(label), final=not self._overwrite)

    def round(self, round_index: int, total_rounds: int, measured: bool) -> None:
        if not self._overwrite:
            return
        kind = "round" if measured else "warm-up"
        self._emit("{} ... {} {}/{}".format(self._label, kind, round_index + 1, total_rounds), final=False)

    def done(self, label: str) -> None:
        if self._overwrite:
            self._emit("{} done".format(label), final=True)

    def note(self, message: str) -> None:
        self._emit(message, final=True)

    def _emit(self, text: str, final: bool) -> None:
        if not self._enabled:
            return
        line = "[bench {:6.1f}s] {}".format(self.elapsed(), text)
        if self._overwrite:
            self._stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
