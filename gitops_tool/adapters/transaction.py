"""All-or-nothing file changes: a command's files all land, or the work tree stays as it was.

- A new folder is written into a hidden temporary folder next to it (same file system), then
  renamed into place in one step: an interrupted command (Ctrl-C, SIGTERM turned into an exception,
  a full disk) never leaves a partial folder, and the temporary one is removed on the way out.
- An edited file is replaced atomically and its old bytes are kept in memory to put back.
- A removed folder is first renamed to a hidden name, and only deleted once the command succeeded.

``rollback`` undoes every step in reverse order with SIGINT blocked, so a second Ctrl-C cannot
interrupt the restore; ``sigterm_as_interrupt`` makes SIGTERM take the same way out.

Test hook: when the environment variable ``GITOPS_TOOL_TEST_PAUSE_WRITING`` names a file, the
writer creates that file after writing the first file of a new folder (or, with
``GITOPS_TOOL_TEST_PAUSE_AT=STEP``, at that named step of services/committed_change.py) and then
waits (up to 60 s, or until the test removes the file), so a test can interrupt or kill the real
command at exactly that point, or resume it. It changes nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from gitops_tool.adapters.files import atomic_write
from gitops_tool.errors import UserError

PAUSE_HOOK_ENV = "GITOPS_TOOL_TEST_PAUSE_WRITING"
PAUSE_STEP_ENV = "GITOPS_TOOL_TEST_PAUSE_AT"
_PAUSE_LIMIT_S = 60.0


class FileTransaction:
    """File changes under ``root`` that can be undone together until ``finish``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._undo: list[Callable[[], None]] = []
        self._on_finish: list[Callable[[], None]] = []

    def __enter__(self) -> FileTransaction:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.rollback()

    def create_folder(self, relative: str, files: dict[str, str]) -> None:
        target = self.root / relative
        if target.exists():
            raise UserError(f"cannot create {relative}: it already exists")
        self._ensure_folder(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            for index, (name, text) in enumerate(sorted(files.items())):
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, text)
                if index == 0:
                    pause_for_tests("writing")
            staging.chmod(0o755)  # mkdtemp makes it 0700; a folder of the repository is 0755
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._undo.append(lambda: shutil.rmtree(target, ignore_errors=True))

    def write_file(self, relative: str, text: str) -> None:
        path = self.root / relative
        old = path.read_bytes() if path.is_file() else None
        mode = path.stat().st_mode & 0o777 if old is not None else 0o644
        self._ensure_folder(path.parent)
        atomic_write(path, text, mode)
        if old is None:
            self._undo.append(lambda: path.unlink(missing_ok=True))
        else:
            self._undo.append(lambda: atomic_write(path, old, mode))

    def remove_folder(self, relative: str) -> None:
        target = self.root / relative
        if not target.is_dir():
            return
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".removed", dir=target.parent))
        trash.rmdir()
        target.rename(trash)
        self._undo.append(lambda: _rename(trash, target))
        self._on_finish.append(lambda: shutil.rmtree(trash, ignore_errors=True))

    def finish(self) -> None:
        """Keep the changes: drop what was kept for undoing them."""
        for step in self._on_finish:
            step()
        self._undo.clear()
        self._on_finish.clear()

    def rollback(self) -> None:
        with sigint_blocked():
            for step in reversed(self._undo):
                step()
            self._undo.clear()
            self._on_finish.clear()

    def _ensure_folder(self, folder: Path) -> None:
        missing: list[Path] = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for created in reversed(missing):
            created.mkdir()
            self._undo.append(functools.partial(_remove_empty, created))


def _rename(source: Path, target: Path) -> None:
    source.rename(target)


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a CI runner's timeout) ends the command like Ctrl-C: through the rollback."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Ctrl-C waits until the block is done (a rollback or clean-up is not cut short)."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (ValueError, OSError):  # not the main thread, or no signal masks on this platform
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ignore_interrupts() -> None:
    """From now on Ctrl-C and SIGTERM are ignored (a commit was made: the command must report it).

    The console entry point (cli/entry.py) restores the handlers when the command returns.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signum, signal.SIG_IGN)


def pause_for_tests(step: str) -> None:
    marker = os.environ.get(PAUSE_HOOK_ENV)
    if not marker or os.environ.get(PAUSE_STEP_ENV, "writing") != step:
        return
    Path(marker).touch()
    deadline = time.monotonic() + _PAUSE_LIMIT_S
    # The test resumes the command by removing the marker (or kills it meanwhile).
    while time.monotonic() < deadline and Path(marker).exists():
        time.sleep(0.05)
