"""Console output that survives a closed pipe (``trackers simulate | head -1``).

When the reader of a pipe exits, the next write to it fails with ``EPIPE``; Python ignores
``SIGPIPE`` and raises ``BrokenPipeError`` instead, which would stop a command half-way (with
its result folder half written) and print a traceback, and the interpreter's final flush of
``sys.stdout`` would report the same error again. :class:`PipeSafeWriter` wraps a text stream:
the first ``BrokenPipeError`` points the stream's file descriptor at ``os.devnull`` (the
recipe of the Python documentation, "Note on SIGPIPE", library/signal) and every later write
is dropped, so the command finishes its work and the caller can say once, on stderr, that
output was cut.
"""

from __future__ import annotations

import io
import os
from typing import TextIO

__all__ = ["PipeSafeWriter"]


class PipeSafeWriter(io.TextIOBase):
    """A text stream that drops output once its pipe is closed.

    Parameters
    ----------
    stream : text stream
        The stream written to (usually ``sys.stdout``).

    Attributes
    ----------
    broken : bool
        True once a write or flush met a closed pipe.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.broken = False

    def _close_pipe(self) -> None:
        """Mark the pipe closed and send the stream's pending and future bytes to devnull."""
        self.broken = True
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(fd, self.stream.fileno())
            finally:
                os.close(fd)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # no file descriptor (e.g. a StringIO): nothing is flushed at exit

    def write(self, text: str) -> int:
        """Write ``text``; after a closed pipe, drop it. Returns ``len(text)``."""
        if not self.broken:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._close_pipe()
        return len(text)

    def flush(self) -> None:
        """Flush the stream unless its pipe is closed."""
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._close_pipe()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")
