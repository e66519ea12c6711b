"""A fence in a container's output: a mark written into the runtime's own stdout and stderr pipes.

An invocation ends when the runtime asks for its next event ("the runtime and each extension indicate
completion by sending a Next API request", and Lambda then freezes the environment:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), so its log is what the runtime
wrote until then; what a thread writes later shows in the next invocation's log, as on Lambda.

Everything a runtime wrote before it asked the Runtime API for its next event is in its pipes by then (the
write returned before the request was sent); Docker's copy of those pipes reaches lsim on its own path,
later. A mark written into the same pipes after that request queues behind those bytes, so when the mark
comes out of the container's output stream, everything before it has too: the invocation's log is exactly
what came before the mark, however busy the machine, and nothing written later is in it.

The mark is written through /proc/<pid>/fd/1 and /fd/2 of the container's first process (Docker's init),
which holds the very pipes its children write to. That needs the rights to open another user's descriptors
(root, with the engine on this host); without them `write` says so and the environment falls back to waiting
for quiet output.
"""

from __future__ import annotations

import os
import secrets

STREAMS = (1, 2)  # stdout, stderr


def new_mark() -> bytes:
    """A mark no function can print by chance (nor on purpose: it never sees it)."""
    return b"\x00lsim-fence-" + secrets.token_hex(12).encode() + b"\x00"


class MarkScanner:
    """Finds marks in one stream's output, which arrives in chunks that may split a mark anywhere.

    Only bytes that could begin a mark are held back, so ordinary output passes at once, partial lines too.
    """

    def __init__(self, mark: bytes) -> None:
        self.mark = mark
        self._held = b""

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """The chunk as pieces of output, with None where a mark was."""
        data = self._held + chunk
        self._held = b""
        pieces: list[bytes | None] = []
        while (at := data.find(self.mark)) >= 0:
            if at:
                pieces.append(data[:at])
            pieces.append(None)
            data = data[at + len(self.mark) :]
        keep = _held_back(data, self.mark)
        if keep:
            data, self._held = data[:-keep], data[-keep:]
        if data:
            pieces.append(data)
        return pieces

    def rest(self) -> bytes:
        """What was held back, once the stream has ended: it was output after all."""
        held, self._held = self._held, b""
        return held


def _held_back(data: bytes, mark: bytes) -> int:
    """How many bytes at the end of `data` could be the beginning of `mark`."""
    if mark[:1] not in data[-(len(mark) - 1) :]:
        return 0
    for size in range(min(len(mark) - 1, len(data)), 0, -1):
        if data.endswith(mark[:size]):
            return size
    return 0


def write_mark(pid: int, mark: bytes) -> bool:
    """Write `mark` into the stdout and stderr pipes of process `pid`; False when they cannot be opened
    (no rights to them, or the process is gone)."""
    for stream in STREAMS:
        try:
            descriptor = os.open(f"/proc/{pid}/fd/{stream}", os.O_WRONLY)
        except OSError:
            return False
        try:
            os.write(descriptor, mark)  # at most PIPE_BUF bytes: one piece, never mixed with others' writes
        except OSError:
            return False
        finally:
            os.close(descriptor)
    return True
