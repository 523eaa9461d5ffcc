"""Installing only what the DLC lacks, from pins that match the repository's."""

from __future__ import annotations

from pathlib import Path

import pytest

from training import install_missing
from training.install_missing import missing, pinned_requirements


def test_training_pins_match_the_repository_pins(repository: Path) -> None:
    training = dict(pinned_requirements(repository / "training" / "requirements.txt"))
    pins: dict[str, str] = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (repository / name).read_text().splitlines():
            if "==" in line and not line.startswith("#"):
                pins[line.split("==")[0].strip()] = line.strip()
    assert training
    for name, line in training.items():
        assert pins.get(name) == line, name


def test_only_absent_distributions_are_installed(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\npytest==0.0.1\n\nno-such-distribution-xyz==1.0  # why\n")
    assert missing(pinned_requirements(requirements)) == ["no-such-distribution-xyz==1.0"]


def test_dry_run_names_what_it_would_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("no-such-distribution-xyz==1.0\n")
    assert install_missing.main([str(requirements), "--dry-run"]) == 0
    assert capsys.readouterr().out == "installing: no-such-distribution-xyz==1.0\n"


def test_nothing_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch==2.13.0\n")
    assert install_missing.main([str(requirements)]) == 0
    assert "installing nothing" in capsys.readouterr().out


@pytest.mark.parametrize("line", ["torch", "torch>=2", "-r other.txt"])
def test_unpinned_lines_are_refused(
    tmp_path: Path, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(line + "\n")
    assert install_missing.main([str(requirements)]) == 1
    assert "is not pinned as name==version" in capsys.readouterr().err
