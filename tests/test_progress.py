"""Progress bars: in place on a terminal, lines of their own in a log (a cron or CI log got every redraw)."""

from __future__ import annotations

import io

from kgrec_neo4j.core import progress as P


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_in_a_log_is_a_few_whole_lines():
    out = io.StringIO()
    with P.bar(total=5000, desc="extract (offline)", unit="item", file=out, leave=False) as b:
        for _ in range(5000):
            b.update(1)
    text = out.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and "\x1b" not in text, text
    assert 1 <= len(lines) <= 3, lines  # the start and the end (a redraw every 30 s at most)
    assert lines[-1].startswith("extract (offline): 100%") and "5000/5000" in lines[-1], lines


def test_a_bar_on_a_terminal_is_drawn_in_place():
    out = Terminal()
    with P.bar(total=3, desc="load items", file=out, mininterval=0, miniters=1) as b:
        for _ in range(3):
            b.update(1)
    assert out.getvalue().count("\r") >= 3


def test_the_line_writer_drops_empty_redraws():
    out = io.StringIO()
    w = P.LineWriter(out)
    w.write("\r" + " " * 40)
    w.write("\x1b[A\rload users:  50%|#####     | 5/10\x1b[A")
    assert out.getvalue() == "load users:  50%|#####     | 5/10\n"
