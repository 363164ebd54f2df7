"""Bad inputs found by fuzzing get a typed error naming the fix, and lose nothing (issue 25, item 15)."""

from __future__ import annotations

import io
import os

import pytest

from cascadeflow_core import Cascade, CostTracker, InputError, ModelSpec


@pytest.fixture
def tracker() -> CostTracker:
    t = CostTracker()
    Cascade([ModelSpec("openai/m", params={"mock_response": "ok"})], tracker=t).complete("q", user="u")
    return t


@pytest.mark.parametrize("path", ["a\x00b.json", 3, 3.5, "", ["x"]])
def test_export_paths_that_are_not_paths_are_input_errors(tracker, path):
    for export in (tracker.to_json, tracker.to_csv, tracker.to_sqlite):
        with pytest.raises(InputError):
            export(path)
    assert len(tracker.entries()) == 1


def test_to_sqlite_none_is_an_input_error(tracker):
    with pytest.raises(InputError):
        tracker.to_sqlite(None)


def test_exports_never_close_a_descriptor_or_file_they_do_not_own(tracker, tmp_path):
    fd = os.open(tmp_path / "ledger.json", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(InputError):
            tracker.to_json(fd)
        os.fstat(fd)  # still open
    finally:
        os.close(fd)
    buf = io.StringIO()
    tracker.to_csv(buf)
    assert not buf.closed and buf.getvalue().startswith("time,")


@pytest.mark.parametrize("role", [["user"], {"r": "user"}, 3])
def test_a_role_that_is_not_a_string_is_an_input_error(role):
    cascade = Cascade([ModelSpec("openai/m", params={"mock_response": "ok"})])
    with pytest.raises(InputError, match="role"):
        cascade.complete([{"role": role, "content": "hi"}])
