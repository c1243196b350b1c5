"""The `review` command: a thin layer over functions that the tests call directly.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their subcommand runs so
`review validate` does not pay for matplotlib or Jupyter.
"""

from __future__ import annotations

import argparse
import codecs
import errno
import importlib
import os
import sys
import tempfile
import unicodedata

from ..errors import ReviewError

COMMANDS = {
    "render": ("analysis.cli.render", "render review.qmd to _output/review.html, review.pdf and review.docx"),
    "validate": ("analysis.cli.validate", "check the extraction sheets and references.bib"),
    "pool": ("analysis.cli.pool", "meta-analyse any CSV with metafor's column names"),
    "lint": ("analysis.cli.lint", "flag numbers typed into the prose of review.qmd"),
    "ledger": ("analysis.cli.ledger", "compare the published review's claims with the sheets"),
    "numbers": ("analysis.cli.numbers", "list the review's numbers, or which moved since a saved snapshot"),
    "check": ("analysis.cli.lock", "recompute every number and compare it with numbers.lock (exit 1 when any moved)"),
    "lock": ("analysis.cli.lock", "rewrite numbers.lock after an intended change, showing what moved"),
    "diff": ("analysis.cli.diff", "the numbers at a git revision against now, as sentences for a changelog"),
    "reconcile": ("analysis.cli.reconcile", "compare two reviewers' extraction folders cell by cell"),
    "new": ("analysis.cli.new", "create a new review project (empty sheets, or --example)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="review", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # Only the chosen subcommand's module is imported.
        if argv[:1] == [name]:
            try:
                importlib.import_module(module).add_arguments(p)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith("analysis"):
                    print(f"review {name}: not available in this version", file=sys.stderr)
                    return 2
                raise
    _ascii_safe(sys.stdout)
    _ascii_safe(sys.stderr)
    args = parser.parse_args(argv)
    real_stdout = sys.stdout
    sys.stdout = _Named(real_stdout, "standard output")
    try:
        code = int(importlib.import_module(args._module).run(args) or 0)
        sys.stdout.flush()
        return code
    except ReviewError as exc:
        print(f"review {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"review {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`review ledger | head`): stop quietly, as other tools do
        _drop_stdout(real_stdout)
        return 0
    except OSError as exc:
        message, code = os_fault(exc)
        if exc.filename == "standard output":
            _drop_stdout(real_stdout)
        print(f"review {args.command}: {message}", file=sys.stderr)
        return code
    except Exception as exc:  # a bug, but the user still gets one line, not a traceback
        print(f"review {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70
    finally:
        if isinstance(sys.stdout, _Named):
            sys.stdout = real_stdout


# --- faults of the environment ------------------------------------------------------------------

# errno -> (what went wrong, exit code); the codes follow BSD's sysexits.h, one per kind of fault.
OS_FAULTS = {
    errno.ENOSPC: ("no space left on the device", 73),
    errno.EDQUOT: ("disk quota exceeded", 73),
    errno.EFBIG: ("file too large (a file-size limit such as `ulimit -f`, or the filesystem's largest file)", 74),
    errno.EROFS: ("read-only filesystem", 77),
    errno.EACCES: ("permission denied", 77),
    errno.EPERM: ("operation not permitted", 77),
    errno.EXDEV: ("cannot be moved there in one step: another filesystem (cross-device link)", 71),
    errno.EISDIR: ("is a folder, not a file", 72),
    errno.ENOTDIR: ("is not a folder", 72),
    errno.ENOENT: ("no such file or folder", 66),
}
OTHER_OS_FAULT = 71
# The commands' own temporary folders (tempfile.TemporaryDirectory(prefix=...)) start so.
TEMP_PREFIX = "review-"


def os_fault(exc: OSError) -> tuple[str, int]:
    """One line naming the path and the cause of an OSError, and the exit code of its kind."""
    cause, code = OS_FAULTS.get(exc.errno, (None, OTHER_OS_FAULT))
    if cause is None:
        cause = (exc.strerror or str(exc)).lower()
    where = ""
    if exc.filename is not None:
        where = f"{os.fsdecode(exc.filename)}"
        if exc.filename2 is not None:
            where += f" -> {os.fsdecode(exc.filename2)}"
        where += ": "
        temp = tempfile.gettempdir()
        inside = os.path.relpath(os.fsdecode(exc.filename), temp).split(os.sep)[0]
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) and inside.startswith(TEMP_PREFIX):
            cause += f" (a temporary folder in {temp}; set TMPDIR to a folder with space)"
    return f"{where}{cause}", code


class _Named:
    """A stream whose write errors name it (a full disk behind `review ... > file`)."""

    def __init__(self, stream, name: str):
        self._stream, self._name = stream, name

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise _named(exc, self._name) from None

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as exc:
            raise _named(exc, self._name) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _named(exc: OSError, name: str) -> OSError:
    if exc.filename is not None or exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, name)


def _drop_stdout(stream) -> None:
    """After standard output failed: nothing more goes there, and the exit does not try again."""
    if stream is sys.__stdout__ and stream is not None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
    sys.stdout = None


# Characters the messages and tables use, as a terminal without Unicode can show them.
ASCII = {"\u2014": "-", "\u2013": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"',
         "\u201d": '"', "\u2026": "...", "\u2265": ">=", "\u2264": "<=", "\u00d7": "x", "\u00b2": "^2",
         "\u03c4": "tau", "\u00b1": "+/-", "\u00b7": ".", "\u00a0": " ", "\u2192": "->", "\u2260": "!=",
         "\u2248": "~", "\u03b1": "alpha", "\u03b2": "beta", "\u03c7": "chi", "\u0394": "Delta",
         "\u2022": "*", "\u00b0": " deg"}


def _to_ascii(exc: UnicodeError):
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start:exc.end]:
        plain = ASCII.get(ch) or unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append(plain or (f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}"))
    return "".join(out), exc.end


codecs.register_error("review-ascii", _to_ascii)


def _ascii_safe(stream) -> None:
    """On a terminal that cannot show Unicode (PYTHONIOENCODING=ascii, LANG=C on old systems), print
    what it can show instead of failing on the first dash."""
    encoding = getattr(stream, "encoding", None)
    if not encoding or not hasattr(stream, "reconfigure"):
        return
    try:
        if codecs.lookup(encoding).name.startswith("utf"):
            return
        stream.reconfigure(errors="review-ascii")
    except (LookupError, ValueError, OSError):
        pass
