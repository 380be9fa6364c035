"""Every example the project shows a person, collected for tests/test_demo.py:

* the ``Example`` / ``Examples`` lines of every command's ``--help``,
* the ``kgrec ...`` lines of the README's code blocks,
* the ``:param`` lines of the Browser queries (``cypher/browser/*.cypher``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
PARAM = re.compile(r"^//\s*:param\s+(\w+)\s*=>\s*'([^']*)'\s*;?\s*$")


def _walk(cmd: click.Command, path: tuple[str, ...] = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _walk(sub, (*path, name))


def _commands(line: str) -> list[list[str]]:
    """The ``kgrec`` invocations of one shell line (``a && b`` gives two), as argument lists without ``kgrec``."""
    out = []
    for part in line.split("&&"):
        part = part.split(" #", 1)[0].strip()
        if part.startswith("kgrec "):
            out.append(shlex.split(part)[1:])
    return out


def help_examples(cli: click.Group) -> list[tuple[str, list[str]]]:
    """``(where, args)`` for every example line of every command's help text."""
    out = []
    for path, cmd in _walk(cli):
        inside = False
        for raw in (cmd.help or "").splitlines():
            s = raw.strip()
            if re.match(r"^Examples?\b.*:$", s):
                inside = True
                continue
            if not s:
                inside = False
                continue
            if inside:
                out += [(f"kgrec {' '.join(path)} --help".replace("  ", " "), a) for a in _commands(s)]
    return out


def readme_examples(readme: Path = REPO / "README.md") -> list[tuple[str, list[str]]]:
    """``(where, args)`` for every ``kgrec ...`` line inside a fenced code block of the README."""
    out, fenced = [], False
    for n, raw in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
        if raw.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            out += [(f"README.md:{n}", a) for a in _commands(raw.strip())]
    return out


def readme_python(readme: Path = REPO / "README.md") -> list[str]:
    """The README's ``python`` code blocks."""
    return re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)


def browser_params() -> dict[str, dict[str, str]]:
    """Browser query file name -> its ``:param`` values."""
    out = {}
    for f in sorted((REPO / "cypher" / "browser").glob("*.cypher")):
        params = {}
        for line in f.read_text(encoding="utf-8").splitlines():
            m = PARAM.match(line.strip())
            if m:
                params[m.group(1)] = m.group(2)
        out[f.stem] = params
    return out


def leaf(cli: click.Group, args: list[str]) -> tuple[str, ...]:
    """The command path an argument list invokes (``("items", "show")``), skipping the root group's options."""
    path: list[str] = []
    cmd: click.Command = cli
    takes_value = {o for p in cli.params if isinstance(p, click.Option) and not p.is_flag for o in p.opts}
    it = iter(args)
    for a in it:
        if not isinstance(cmd, click.Group):
            break
        if a.startswith("-"):
            if cmd is cli and a in takes_value:
                next(it, None)
            continue
        sub = cmd.commands.get(a)
        if sub is None:
            break
        path.append(a)
        cmd = sub
    return tuple(path)
