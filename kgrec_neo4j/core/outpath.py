"""Where a command writes its output (``--out``): checked before any work, so that a path that cannot be a file or a
folder is an error naming it, not a traceback after minutes of work (``kgrec report``, ``kgrec demo``)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def check_out_path(out: str | Path, *, folder: bool, example: str = "") -> Path:
    """``out`` as a :class:`Path`, when a ``folder`` (else a file) can be made there: what exists of it is of that
    kind, and the nearest existing folder above it is a folder, not a file (missing folders are made by the
    writer). Nothing is created.

    Raises:
        InputError: ``out`` names a folder where a file is wanted (or ends with ``/``), a file where a folder is
            wanted, or lies under a file; ``example`` is shown as the fix (e.g. ``--out reports/report.html``).
    """
    path = Path(out)
    fix = f" (e.g. {example})" if example else ""
    if not folder and (str(out).endswith(("/", os.sep)) or path.is_dir()):
        raise InputError(f"is a folder; name the file to write{fix}", source=str(out))
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"is a file, not a folder; name a folder to write into{fix}", source=str(out))
    above = path.absolute().parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        raise InputError(f"cannot be written there: {above} is a file, not a folder; choose another --out{fix}",
                         source=str(out))
    return path


def make_out_folder(out: str | Path) -> Path:
    """``out`` made as a folder (with its parents) that this process can write into, before the work that fills it
    (a path :func:`check_out_path` accepts may still be refused by the system: ``/proc/x``, no permission).

    Raises:
        InputError: it cannot be made or written into, naming the system's reason.
    """
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise unwritable(out, e) from None
    return path


def unwritable(out: str | Path, e: OSError) -> InputError:
    """The error of an output that the system refused to write (``e``), naming the fix."""
    return InputError(f"cannot be written there ({e.strerror or e}); choose another --out", source=str(out))
