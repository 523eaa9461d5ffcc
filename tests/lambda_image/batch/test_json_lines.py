"""JSON Lines end to end through score_stream: fields passed through, y added, bad rows listed."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.lambda_image.batch.conftest import score_bytes
from torchlambda.batch.streams import MAX_LINE_BYTES


def test_fields_pass_through_and_y_becomes_y_true(tmp_path: Path) -> None:
    data = (
        b'{"id": 1, "x": 2}\n'
        b'{"id": "b", "x": 1.5, "y": 9}\r\n'
        b'{"x": -0.5, "nested": {"a": [1, 2]}, "big": 123456789012345678901234567890}\n'
    )
    scored = score_bytes(data, "rows.jsonl", tmp_path)
    assert scored.output is not None
    assert scored.output.splitlines() == [
        b'{"id":1,"x":2,"y":4.0}',
        b'{"id":"b","x":1.5,"y_true":9,"y":3.0}',
        b'{"x":-0.5,"nested":{"a":[1,2]},"big":123456789012345678901234567890,"y":-1.0}',
    ]
    assert scored.output.endswith(b"\n")
    assert scored.errors is None
    assert scored.counts.rows_read == scored.counts.rows_predicted == 3


def test_bad_rows_are_counted_listed_and_left_out(tmp_path: Path) -> None:
    lines = [
        b'{"x": 1}',
        b'{"x": true}',
        b'{"x": "1"}',
        b'{"x": null}',
        b'{"x": [1]}',
        b'{"x": 1e999}',
        b'{"x": ' + b"9" * 400 + b"}",
        b'{"x": NaN}',
        b'{"x": 1',
        b'{"id": 3}',
        b"[1, 2]",
        b"",
        b"   ",
        b'{"x": 2e6}',
        b'{"x": 3}',
        b'\xff{"x": 1}',
        b'{"x": 4, "pad": "' + b"p" * MAX_LINE_BYTES + b'"}',
    ]
    scored = score_bytes(b"\n".join(lines) + b"\n", "bad.jsonl", tmp_path)
    assert scored.output == b'{"x":1,"y":2.0}\n{"x":3,"y":6.0}\n'
    assert scored.counts.rows_read == 15  # two blank lines are not rows
    assert scored.counts.rows_predicted == 2
    assert scored.counts.rows_rejected == 13
    assert scored.errors is not None
    range_reason = "x must be finite with |x| <= 1e+06"
    assert [(e["line"], e["code"], e["reason"]) for e in scored.errors] == [
        (2, "invalid_x", "x must be a number"),
        (3, "invalid_x", "x must be a number"),
        (4, "invalid_x", "x must be a number"),
        (5, "invalid_x", "x must be a number"),
        (6, "out_of_range", range_reason),
        (7, "out_of_range", range_reason),
        (8, "invalid_json", "row is not valid JSON"),
        (9, "invalid_json", "row is not valid JSON"),
        (10, "invalid_row", 'each line must be a JSON object with an "x" field'),
        (11, "invalid_row", 'each line must be a JSON object with an "x" field'),
        (14, "out_of_range", range_reason),
        (16, "invalid_json", "row is not UTF-8 text"),
        (17, "invalid_row", f"row is longer than {MAX_LINE_BYTES} bytes"),
    ]
    assert scored.errors[0]["row"] == '{"x": true}'
    assert scored.errors[-4]["row"] == "[1, 2]"
    assert scored.errors[-2]["row"] == '\ufffd{"x": 1}'  # echoed as text, undecodable bytes marked


def test_every_error_line_is_strict_json(tmp_path: Path) -> None:
    scored = score_bytes(b'{"x": "\\ud800"}\n{"x": NaN}\n', "odd.jsonl", tmp_path)
    errors = (tmp_path / "errors-odd.jsonl.jsonl").read_bytes()
    assert [orjson.loads(line)["line"] for line in errors.splitlines()] == [1, 2]
    assert scored.output == b""


def test_long_integers_and_lone_surrogates_pass_through_exactly(tmp_path: Path) -> None:
    data = (
        b'{"id": -92233720368547758090, "x": 1}\n'
        b'{"x": 2, "note": "\\ud800 caf\xc3\xa9"}\n'
        b'{"x": 12345678901234567890}\n'
        b'{"x": NaN, "id": 1234567890123456789012}\n'
        b'{"x": 0.12345678901234567890123}\n'
    )
    scored = score_bytes(data, "exact.jsonl", tmp_path)
    assert scored.output is not None
    rows = scored.output.splitlines()
    assert rows[0] == b'{"id":-92233720368547758090,"x":1,"y":2.0}'
    x = 0.12345678901234567890123
    assert orjson.loads(rows[2]) == {"x": x, "y": 2 * x}
    # The surrogate is kept as the input escaped it; the rest of the row is unchanged.
    assert rows[1] == b'{"x":2,"note":"\\ud800 caf\\u00e9","y":4.0}'
    assert scored.errors is not None
    assert [(e["line"], e["code"]) for e in scored.errors] == [
        (3, "out_of_range"),
        (4, "invalid_json"),
    ]
