"""The CLI's rendering: tables, durations, progress bars (live on a terminal, a line per phase
elsewhere) and the JSON document."""

from __future__ import annotations

import io
import json

import pytest
from mailwarden.cli.render import Console, ExitCode, Result, ago, table


def test_tables_align_cut_long_cells_and_say_when_empty() -> None:
    rows = [{"id": "apr-1", "subject": "x" * 80}, {"id": "apr-22", "subject": None}]
    out = table(rows, [("id", "id"), ("subject", "subject")])
    assert out[0] == "ID      SUBJECT"
    assert out[1] == "apr-1   " + "x" * 57 + "..."
    assert out[2] == "apr-22  -"
    assert table([], [("id", "id")], empty="No approvals.") == ["No approvals."]


@pytest.mark.parametrize(
    ("seconds", "text"), [(40, "40s"), (125, "2m 5s"), (3600, "1h"), (90061, "1d 1h"), (-300, "5m")]
)
def test_ago(seconds: float, text: str) -> None:
    assert ago(seconds) == text


def test_a_live_progress_bar_redraws_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILWARDEN_PROGRESS", "1")
    err = io.StringIO()
    bar = Console("text", io.StringIO(), err).progress("apply reputation")
    bar.update(120, None, "scanning: 120 entities")
    bar.update(3, 12, "applying")
    bar.close()
    drawn = err.getvalue()
    assert "\r\033[Kapply reputation: [" in drawn and "] 120  scanning: 120 entities" in drawn
    assert "[#######---------------------] 3/12  applying" in drawn
    assert drawn.endswith("\n")


def test_off_a_terminal_progress_prints_one_line_per_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILWARDEN_PROGRESS", raising=False)
    err = io.StringIO()
    bar = Console("text", io.StringIO(), err).progress("plan partner")
    for done in range(3):
        bar.update(done, 3, "reading")
    bar.update(3, 3, "done")
    bar.close()
    assert err.getvalue() == "plan partner: reading\nplan partner: done\n"


def test_json_output_is_one_document_and_no_text() -> None:
    out = io.StringIO()
    code = Console("json", out, io.StringIO()).emit(Result(ExitCode.CHANGES, {"b": 1, "a": [2]}, ["text line"]))
    assert code == ExitCode.CHANGES
    assert json.loads(out.getvalue()) == {"a": [2], "b": 1} and "text line" not in out.getvalue()
