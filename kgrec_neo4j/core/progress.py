"""Progress bars that suit where they are read.

On a terminal, a tqdm bar redrawn in place. Elsewhere (a cron log, a CI log, a pipe) a bar redrawn in place writes a
carriage return and a padded line ten times a second: hundreds of kilobytes of one "line" by the end of a long run.
There, the same bar is written as a line of its own at most every ``LOG_INTERVAL_S`` seconds (and once at its end),
so that long work still shows progress in the log.
"""

from __future__ import annotations

import re
import sys
from typing import IO, Any

LOG_INTERVAL_S = 30.0
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")  # tqdm's cursor moves and carriage returns


class LineWriter:
    """A file-like wrapper that writes each of tqdm's redraws as a line of its own (empty redraws dropped)."""

    def __init__(self, f: IO[str]):
        self.f = f

    def write(self, s: str) -> int:
        text = _CONTROL.sub("", s).rstrip()
        if text:
            self.f.write(text + "\n")
        return len(s)

    def flush(self) -> None:
        self.f.flush()


def is_terminal(f: Any) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, ValueError):  # (a closed or a fake stream)
        return False


def bar(*, file: IO[str] | None = None, **kwargs: Any):
    """A tqdm bar on ``file`` (default: standard error): drawn in place on a terminal, else written as lines at most
    every ``LOG_INTERVAL_S`` seconds (``kwargs`` as tqdm's; ``disable=True`` draws nothing)."""
    from tqdm import tqdm

    f = file if file is not None else sys.stderr
    if is_terminal(f):
        return tqdm(file=f, **kwargs)
    kwargs.pop("dynamic_ncols", None)
    kwargs["leave"] = True  # (a bar that leaves nothing would end the log at its last redraw, not at 100%)
    kwargs.setdefault("mininterval", LOG_INTERVAL_S)
    kwargs.setdefault("maxinterval", max(LOG_INTERVAL_S, kwargs["mininterval"]))
    kwargs.setdefault("ncols", 100)
    return tqdm(file=LineWriter(f), **kwargs)
