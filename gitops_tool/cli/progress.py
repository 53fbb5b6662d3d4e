"""Progress lines for long cluster operations: on stderr, so stdout stays the result.

On a terminal the latest line replaces the previous one under a spinner; elsewhere (CI logs, pipes)
each change is one plain line.
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress(title: str) -> Iterator[Callable[[str], None]]:
    if not sys.stderr.isatty():

        def plain(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        yield plain
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(title) as status:

        def live(line: str) -> None:
            console.log(line, highlight=False)
            status.update(f"{title}: {line}")

        yield live
