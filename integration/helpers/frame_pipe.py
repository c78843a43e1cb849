"""Reading and writing the ring the way a stage should (docs/frames.md): everything that
is available is read in one go and the output of a wake-up leaves in one write, so that
under load many frames share a wake-up; a frame that is not the stage's own is passed
from its bytes, never decoded, when its bytes show that it cannot be its own."""
import os


def batches(fd: int = 0):
    """Yields, at each wake-up, the complete lines read (each ending in a newline)."""
    tail = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if tail.strip():
                yield [tail + b"\n"]
            return
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        yield [line + b"\n" for line in lines if line.strip()]


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def may_name(line: bytes, needles) -> bool:
    """Whether the frame's bytes may name one of `needles` (strings that begin a JSON
    string, e.g. a session-id prefix): false only when none appears and nothing is
    escaped, since an escape could spell one."""
    return b"\\u" in line or any(n in line for n in needles)
