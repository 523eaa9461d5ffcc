"""`make cost`'s model-source block and its arguments, with figures worked out by hand."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from infra.config import EnvironmentConfig, get_environment
from infra.settings.model_source import EfsSource, NewVpc, S3Source
from ops.cli import main
from ops.cost.model_source import Inits, SourceWorkload, compare_sources
from ops.cost.report import model_source_lines

REPO_ROOT = Path(__file__).resolve().parents[3]
SHA256 = "ab" * 32
PROD = SourceWorkload(busy_seconds=200_000, provisioned_environments=2, inits=Inits(360, 0))


def prod_with(source: S3Source | EfsSource, ephemeral_storage_mb: int = 512) -> EnvironmentConfig:
    prod = get_environment("prod")
    function = dataclasses.replace(prod.function, ephemeral_storage_mb=ephemeral_storage_mb)
    return dataclasses.replace(prod, model_source=source, function=function)


def test_s3_block_and_comparison() -> None:
    config = prod_with(S3Source("build-7", SHA256, 1000.0), ephemeral_storage_mb=1064)
    lines = model_source_lines(config, compare_sources(config, PROD, 1000.0, 2048.0))
    assert lines == [
        "Model source of prod: s3, a 1,000 MB model, /tmp 1,064 MB (ops/cost/model_source.py)",
        "Inits: 360/month, assumed (INITS= overrides): 2 provisioned environment(s) "
        "re-initialized every 4 h + 0 on-demand cold starts",
        # 552 MB = 0.5390625 GB x (200,000 + 2 x 2,592,000) s x $0.0000000309 = $0.0896815
        "  Lambda /tmp storage              $0.0897",
        "  S3 storage                       $0.0225",  # 0.9765625 GB x $0.023
        "  S3 GET requests                  $0.0183",  # 360 x (125 parts + 2) x $0.0000004
        "  total per month                   $0.130",
        "",
        "Every source for a 2,048 MB model (SIZE_MB= prices another size), 360 inits/month, "
        "each with the least /tmp it needs:",
        "source            /tmp MB   USD per month   one-off copy   init read",
        "image                 512          $0.200              -   with the image",
        "s3                  2,112          $0.343              -   41 s at 50 MB/s  <- configured",
        "efs (elastic)         512          $22.20         $0.120   20.5 s at 100 MB/s",
    ]


def test_efs_block_names_its_one_off_copy() -> None:
    config = prod_with(EfsSource("build-7", SHA256, 1000.0, network=NewVpc()))
    lines = model_source_lines(config, compare_sources(config, PROD, 1000.0, 1000.0))
    assert lines[2:6] == [
        "  EFS storage                       $0.293",  # 0.9765625 GB x $0.30
        "  EFS reads                         $10.55",  # 360 x 0.9765625 GB x $0.03
        "  total per month                   $10.84",
        "  and $0.0586 of EFS writes each time a build is copied onto the file system",
    ]
    assert lines[-1].startswith(
        "efs (elastic)         512          $10.84        $0.0586   10 s at 100 MB/s"
    )
    assert lines[-1].endswith("<- configured")


def test_given_inits_are_named() -> None:
    config = prod_with(S3Source("build-7", SHA256, 1000.0), ephemeral_storage_mb=1064)
    workload = dataclasses.replace(PROD, inits=Inits(360, 0, given=0))
    lines = model_source_lines(config, compare_sources(config, workload, 1000.0, 1000.0))
    assert lines[1] == "Inits: 0/month (INITS)"
    assert not any(line.startswith("  S3 GET requests") for line in lines)  # nothing read


@pytest.mark.parametrize(
    ("name", "size_mb", "noted"),
    [("dev", 2048.0, True), ("dev", 1.0, False), ("prod", 2048.0, False)],
)
def test_sizes_on_demand_init_cannot_load_are_noted(name: str, size_mb: float, noted: bool) -> None:
    config = get_environment(name)
    lines = model_source_lines(config, compare_sources(config, PROD, 1.0, size_mb))
    note = (
        "s3, efs (elastic): init would pass on-demand's 10 s (4 s of init besides the read): "
        "turn provisioned concurrency on to serve this size from there"
    )
    assert (lines[-1] == note) is noted


def test_cost_command_prices_the_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["cost", "--env", "prod", "--size-mb", "2048", "--inits", "1k"]
    assert main([*argv, "--plot", str(tmp_path / "cost.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    block = lines.index("Inits: 1k/month (INITS)") - 1
    assert lines[block].startswith("Model source of prod: image, a ")  # model.pth's size
    assert lines[block + 2].startswith("  ECR image storage")
    rows = [" ".join(line.split()) for line in lines if line.startswith(("image ", "s3 ", "efs "))]
    assert rows == [
        "image 512 $0.200 - with the image <- configured",
        # 0.046 + 1,000 x 258 x $0.0000004 + $0.25994625 of /tmp
        "s3 2,112 $0.409 - 41 s at 50 MB/s",
        "efs (elastic) 512 $60.60 $0.120 20.5 s at 100 MB/s",  # 0.60 + 1,000 x 2 GB x $0.03
    ]
    assert lines[-1].startswith("Plot: ")


SIZE_WANTED = (
    "error: expected SIZE_MB to be the model's size in MB in (0, 9,840] (Lambda's memory must "
    "hold it beside the runtime), got "
)
INITS_WANTED = "error: expected INITS to be model loads a month, e.g. 360, 2.5k or 0, got "


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("--size-mb", "0", f"{SIZE_WANTED}'0'"),
        ("--size-mb", "-5", f"{SIZE_WANTED}'-5'"),
        ("--size-mb", "9841", f"{SIZE_WANTED}'9841'"),
        ("--size-mb", "nan", f"{SIZE_WANTED}'nan'"),
        ("--size-mb", "2GB", f"{SIZE_WANTED}'2GB'"),
        ("--inits", "-1", f"{INITS_WANTED}'-1'"),
        ("--inits", "often", f"{INITS_WANTED}'often'"),
    ],
)
def test_bad_model_source_arguments_are_one_actionable_line(
    capsys: pytest.CaptureFixture[str], argument: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["cost", "--env", "prod", f"{argument}={value}"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == f"{message}\n"
    assert captured.out == ""


def test_make_cost_passes_size_and_inits() -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "cost", "ENV=prod", "SIZE_MB=2048", "INITS=500"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    last = " ".join(dry_run.stdout.strip().splitlines()[-1].split())
    assert last.endswith("-m ops cost --env 'prod' --size-mb '2048' --inits '500'")
