"""Writing files so that a reader never sees half of one, and cleaning up after a killed writer."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path

TMP_SUFFIX = ".tmp"


def umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a file created with open() gets: 0o666 less the umask."""
    return 0o666 & ~umask()


def hold(fd: int) -> bool:
    """Take an exclusive lock on the open file `fd` without waiting; False when another process holds it.

    A writer holds the lock on its temporary file or folder for as long as it works on it,
    and the kernel drops it when the writer dies, so a leftover that can be locked is one
    whose writer is gone.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise


def is_abandoned(path: Path) -> bool:
    """Whether the leftover `path` (file or folder) is held by no running writer."""
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    except OSError:
        return False  # gone already, or not ours to judge
    try:
        return hold(fd)
    finally:
        os.close(fd)


def clean_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Remove what killed writers left in `folder` (names matching `pattern`); return what was removed."""
    import shutil

    removed = []
    try:
        candidates = sorted(Path(folder).glob(pattern))
    except OSError:
        return removed
    for p in candidates:
        if not is_abandoned(p):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError:
            pass  # a leftover that cannot be removed is harmless; git ignores it
    return removed


def with_path(exc: OSError, path, hidden=()) -> OSError:
    """`exc` naming `path` when the OS named no file (a failed write or flush) or one of `hidden`
    (the temporary file, which means nothing to the user)."""
    if exc.errno is not None and (exc.filename is None or str(exc.filename) in {str(h) for h in hidden}):
        return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))
    return exc


def atomic_write(path: Path, write) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, then move it into place in one step.

    The new file keeps the permissions of the one it replaces; a file that did not exist
    gets the umask's, as if it had been created with open(). A temporary file left by a
    writer that was killed is removed by the next write to the same path.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    prefix = f".{path.name}."
    clean_leftovers(path.parent, f"{prefix}*{TMP_SUFFIX}")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = new_file_mode()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=TMP_SUFFIX)
    except OSError as exc:
        raise with_path(exc, path, [exc.filename]) from None
    try:
        hold(fd)
        os.fchmod(fd, mode)
        try:
            write(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            raise with_path(exc, path, [tmp]) from None
    finally:
        os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8, LF line ends) in one step."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline="\n"))


def read_utf8(path: Path, shown: str | None = None) -> str:
    """The text of a UTF-8 file (a byte-order mark dropped); InputError naming the line and byte that
    cannot be decoded."""
    from .errors import InputError

    data = Path(path).read_bytes()
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data[:offset].count(b"\n") + 1
        raise InputError(f"{shown or Path(path).name}:{line}: not UTF-8: byte 0x{data[offset]:02X} at byte offset "
                         f"{offset} cannot be decoded; save the file as UTF-8") from None
