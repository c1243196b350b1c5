"""What a failed pandoc or typst run means: a fault of the environment, or the tool's own message."""

from __future__ import annotations

import errno
import os
import re
import signal

from ..errors import RenderError

# Faults of the environment, recognised by the C library's text for them, which GHC (pandoc) and
# Rust (typst) print inside their messages.
ENVIRONMENT = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES)
# Lines of a GHC call stack, which pandoc prints after its message.
_TRACE = re.compile(r"^(CallStack \(from|HasCallStack)|, called at ")


def failure(tool: str, returncode: int | None, stderr: str, path, pick: str = "last") -> Exception:
    """The exception for `tool` having failed while writing `path`.

    A tool stopped by the file-size limit (SIGXFSZ) or reporting a full disk, a quota, a
    read-only filesystem or a refused permission gives the OSError of that kind, so the
    command names the path and exits with the code of the fault; anything else is the
    tool's own message without the call-stack lines after it.
    """
    if returncode is not None and returncode < 0:
        sig = -returncode
        if sig == signal.SIGXFSZ:
            return OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        return RenderError(f"{tool} was stopped by signal {name}")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for code in ENVIRONMENT:
            if os.strerror(code).lower() in line.lower():
                return OSError(code, os.strerror(code), str(path))
    meaningful = [line for line in lines if not _TRACE.search(line)] or lines
    if not meaningful:
        return RenderError(f"{tool} failed: exit code {returncode}")
    return RenderError(f"{tool} failed: {meaningful[0] if pick == 'first' else meaningful[-1]}")
