"""Reading CSVs (both layouts, local and S3), their errors, the split, and the default dataset."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unprivileged import run_unprivileged
from training import data
from training.data import DataError, read_dataset, split


def rows(n: int, start: float = 0.0) -> str:
    return "".join(f"{2 * (start + i)},{start + i}\n" for i in range(n))


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_book_layout_is_y_then_x(tmp_path: Path) -> None:
    path = write(tmp_path, rows(25))
    dataset = read_dataset(str(path))
    assert len(dataset) == 25
    assert dataset.x[:3] == (0.0, 1.0, 2.0)
    assert dataset.y[:3] == (0.0, 2.0, 4.0)
    assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert dataset.source == str(path)


def test_headered_columns_in_any_order_with_extras(tmp_path: Path) -> None:
    body = "".join(f"note,{i},{3 * i}\n" for i in range(30))
    dataset = read_dataset(str(write(tmp_path, "comment, Y ,x\n" + body)))
    assert dataset.x[:2] == (0.0, 3.0)
    assert dataset.y[:2] == (0.0, 1.0)


def test_tolerates_bom_crlf_blank_lines_and_spaces(tmp_path: Path) -> None:
    text = "\ufeffx,y\r\n" + "".join(f" {i} , {i}\r\n" for i in range(20)) + "\r\n\r\n"
    assert len(read_dataset(str(write(tmp_path, text)))) == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        ("\n\n", "0 data rows; at least 20 are needed"),
        (rows(19), "19 data rows; at least 20 are needed"),
        ("x,y\n" + rows(19), "19 data rows"),
        ("".join(f"{i}\n" for i in range(30)), "line 1: one column"),
        (rows(5) + "1,abc\n" + rows(20), "line 6: 'abc' is not a number"),
        ("1,abc\n" + rows(20), "line 1: 'abc' is not a number"),
        (rows(3) + "nan,1\n" + rows(20), "line 4: 'nan' is not a finite number"),
        (rows(3) + "1,-inf\n" + rows(20), "line 4: '-inf' is not a finite number"),
        (rows(3) + "1,1e309\n" + rows(20), "line 4: '1e309' is not a finite number"),
        # Finite as float64, infinite as the float32 the model computes in.
        (rows(3) + "1e39,1.0\n" + rows(20), "line 4: '1e39' is beyond float32's range"),
        (rows(3) + "1,-1e308\n" + rows(20), "line 4: '-1e308' is beyond float32's range"),
        (rows(3) + "1,1_000\n" + rows(20), "line 4: '1_000' is not a number"),
        (rows(3) + "1,\u0661\n" + rows(20), "line 4: '\u0661' is not a number"),
        (rows(3) + "1,\n" + rows(20), "line 4: '' is not a number"),
        ("x,y,x\n" + rows(25), "line 1: duplicate column names: x"),
        ("x,X\n" + rows(25), "line 1: duplicate column names: x"),
        ("a,b\n" + rows(25), "header has no column named x or y (found: a, b)"),
        ("x,z\n" + rows(25), "header has no column named y"),
        (rows(3) + "1,2,3\n" + rows(20), "line 4: 3 columns, expected 2"),
        (b"1,2\n\xff\xfe,1\n", "not UTF-8 text"),
    ],
)
def test_bad_data_is_one_clear_line(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        read_dataset(str(path))
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found$"):
        read_dataset(str(tmp_path / "nope.csv"))


def test_a_directory_is_not_a_data_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r": not a regular file$"):
        read_dataset(str(tmp_path))


@pytest.mark.slow  # a Python subprocess that imports torch
def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, rows(25))
    path.chmod(0)
    result = run_unprivileged(
        "from training.data import DataError, read_dataset\n"
        "try:\n"
        f"    read_dataset({str(path)!r})\n"
        "except DataError as error:\n"
        "    print(error)\n"
    )
    assert result.stdout.strip() == f"{path}: cannot read (Permission denied)"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.floats(allow_nan=False, allow_infinity=False, width=32),
        ),
        min_size=20,
        max_size=40,
    )
)
def test_finite_values_round_trip_exactly(pairs: list[tuple[float, float]]) -> None:
    import io

    text = "".join(f"{y!r},{x!r}\n" for y, x in pairs).encode()
    dataset = data._parse("mem.csv", io.BytesIO(text))
    assert dataset.y == tuple(y for y, _ in pairs)
    assert dataset.x == tuple(x for _, x in pairs)


def test_split_is_seeded_disjoint_and_complete(tmp_path: Path) -> None:
    dataset = read_dataset(str(write(tmp_path, rows(100))))
    rest, held = split(dataset, 0.2, seed=7, label="validation")
    again_rest, again_held = split(dataset, 0.2, seed=7, label="validation")
    other_rest, _ = split(dataset, 0.2, seed=8, label="validation")
    assert (len(rest), len(held)) == (80, 20)
    assert (rest.x, held.x) == (again_rest.x, again_held.x)
    assert rest.x != other_rest.x
    assert sorted(rest.x + held.x) == sorted(dataset.x)
    assert held.source.endswith("(validation)")


def test_split_refuses_an_empty_side(tmp_path: Path) -> None:
    dataset = read_dataset(str(write(tmp_path, rows(20))))
    with pytest.raises(DataError, match="leaves one side empty"):
        split(dataset, 0.01, seed=0, label="validation")


def test_default_dataset_regenerates_byte_for_byte(tmp_path: Path, repository: Path) -> None:
    data.main(["--rows", "1000", "--seed", "0", "--out", str(tmp_path)])
    for name in (data.TRAIN_FILE, data.TEST_FILE):
        committed = repository / "training" / "data" / name
        assert (tmp_path / name).read_bytes() == committed.read_bytes(), name
    train = read_dataset(str(tmp_path / data.TRAIN_FILE))
    assert (len(train), len(read_dataset(str(tmp_path / data.TEST_FILE)))) == (800, 200)
    assert -50 <= min(train.x) < -45 and 45 < max(train.x) <= 50


def test_generator_is_nonlinear_and_noisy() -> None:
    pairs = data.generate_rows(500, seed=0)
    residuals = [y - data.target_function(x) for y, x in pairs]
    spread = math.sqrt(sum(r * r for r in residuals) / len(residuals))
    assert 1.5 < spread < 2.5
    # A straight line through the ends misses the middle: the function bends.
    ends = (data.target_function(-50) + data.target_function(50)) / 2
    assert abs(data.target_function(0) - ends) > 5


def test_generator_refuses_too_few_rows(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        data.main(["--rows", "50", "--out", "unused"])
    assert caught.value.code == 2
    assert "--rows must be at least 100" in capsys.readouterr().err


def test_reads_from_s3_streamed(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = ("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(50))).encode()
    s3.put_object(Bucket="artifacts", Key="data/train.csv", Body=body)
    dataset = read_dataset("s3://artifacts/data/train.csv")
    assert len(dataset) == 50
    assert dataset.y[7] == 49.0
    assert dataset.sha256 == hashlib.sha256(body).hexdigest()
    assert dataset.source == "s3://artifacts/data/train.csv"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://artifacts/data/missing.csv", "file not found"),
        ("s3://no-such-bucket/data/train.csv", "file not found"),
        ("s3://artifacts", "expected s3://bucket/key"),
    ],
)
def test_s3_errors_are_one_line(s3, uri: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match=message) as caught:
        read_dataset(uri)
    assert str(caught.value).startswith(uri)
