"""Writes that never leave a half-written file or directory behind.

A file is written to a sibling temporary file and renamed over its target. A directory is written
into a hidden staging directory next to its target (same filesystem, so the final rename is
atomic), synced, and only then swapped in: a failure, Ctrl-C or SIGTERM before the swap removes
the staging directory and leaves the previous one untouched, and every file-system failure is an
`OutputError` with a one-line message.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Collection
from pathlib import Path

from tooling.interrupts import interrupts_held, sigterm_as_interrupt

logger = logging.getLogger(__name__)


class OutputError(RuntimeError):
    """The output directory cannot be written."""


class InterruptedAfterWrite(KeyboardInterrupt):
    """Ctrl-C or SIGTERM arrived while the new directory was being swapped in; it is in place."""


def write_file_atomically(path: Path, data: bytes, *, executable: bool = False) -> None:
    """Write `data` to a sibling temporary file, then rename it over `path` (atomic on POSIX).

    An executable file gets its mode before the rename: no reader ever sees it without."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        mode = 0o777 if executable else 0o666
        os.chmod(temporary, mode & ~_umask())  # mkstemp makes it private; an ordinary file is not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_directory_atomically(
    target: Path, write: Callable[[Path], None], replaced: Collection[str]
) -> None:
    """Call `write(staging)` and swap the result in as `target`.

    Files in an existing `target` whose names are not in `replaced` are carried over, so that a
    note or an ignore file kept next to the written files survives the next write.
    """
    target = target.absolute()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    except OSError as error:
        raise OutputError(f"{target}: cannot write ({error.strerror or error})") from None
    try:
        with sigterm_as_interrupt():
            _carry_over(target, staging, replaced)
            write(staging)
            _sync(staging)
            _commit(staging, target)
    except OSError as error:  # e.g. disk full, or a file over `ulimit -f` (EFBIG)
        _remove_tree(staging)
        where = error.filename or target
        raise OutputError(f"{where}: cannot write ({error.strerror or error})") from None
    except BaseException:
        _remove_tree(staging)
        raise


def _umask() -> int:
    umask = os.umask(0)  # the only way to read it is to set it
    os.umask(umask)
    return umask


def _carry_over(target: Path, staging: Path, replaced: Collection[str]) -> None:
    if not target.is_dir():
        return
    for entry in target.iterdir():
        if entry.name in replaced:
            continue
        try:
            if entry.is_dir():
                shutil.copytree(entry, staging / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, staging / entry.name, follow_symlinks=False)
        except (OSError, shutil.Error) as error:
            raise OutputError(
                f"{entry}: cannot carry it over to the new model directory ({_reason(error)}); "
                "move it away or make it readable"
            ) from None


def _reason(error: OSError | shutil.Error) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    # copytree collects (source, destination, reason) for every file it could not copy.
    first = error.args[0][0] if error.args and error.args[0] else ("", "", str(error))
    return f"{first[0]}: {first[2]}"


def _sync(directory: Path) -> None:
    directory.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an output directory is not
    for path in directory.iterdir():
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                os.fsync(stream.fileno())


def _commit(staging: Path, target: Path) -> None:
    """Swap the staged directory in; an interrupt meanwhile waits, then says the swap is done."""
    swapped = False
    try:
        with interrupts_held():  # never between the two renames, nor with `.old-` left behind
            _swap(staging, target)
            swapped = True
    except KeyboardInterrupt:  # raised when the held signals are let through
        if swapped:
            raise InterruptedAfterWrite from None
        raise


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    # Two renames: between them the previous directory sits, complete, in the `.old-` one.
    retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    _remove_tree(retired)


def _remove_tree(path: Path) -> None:
    """Remove a directory this process made or retired, even if its mode forbids writing."""
    # A read-only directory (e.g. a model directory of mode 555) keeps its entries from being
    # deleted; the tree is ours, so make each directory writable first.
    for directory, _, _ in os.walk(path):
        try:
            os.chmod(directory, stat.S_IRWXU)
        except OSError:
            continue  # not ours: rmtree will say so below
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        logger.warning("%s: could not be removed completely; delete it by hand", path)
