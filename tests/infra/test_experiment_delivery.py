"""The delivery pipeline with an environment running an experiment: its synth step fetches that
environment's challenger beside the champion, may read exactly that, and the one image it ships
holds one challenger."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

import infra.challenger
from infra.config import DEV, PROD, STAGING, EnvironmentConfig
from infra.delivery.steps import synth_commands
from infra.model_version import MODEL_DIR
from infra.settings.experiment import Shadow, Split
from tests.infra.delivery_examples import DELIVERY, OTHER_ACCOUNT, PIPELINE_ACCOUNT
from tests.infra.test_delivery_pipeline import (
    SynthesizedDelivery,
    buildspec,
    makefile_recipe,
    synthesize_delivery,
)
from tests.infra.test_gates import nag_violations
from tests.infra.test_iam_and_logs import as_list

SHADOW_STAGING = dataclasses.replace(STAGING, experiment=Shadow())


def experiment_faults(environments: list[EnvironmentConfig]) -> list[str]:
    return [fault for fault in DELIVERY.environment_faults(environments) if "experiment" in fault]


def test_the_challenger_is_fetched_after_the_champion_and_before_synthesis() -> None:
    assert synth_commands("dev", "staging") == [
        "make fetch-model ENV=dev FROM=champion",
        "make fetch-model ENV=staging AS=challenger",
        "make synth-delivery",
    ]
    assert synth_commands("dev") == [
        "make fetch-model ENV=dev FROM=champion",
        "make synth-delivery",
    ]
    assert "$(AS)" in makefile_recipe("fetch-model")


def test_one_environment_may_run_an_experiment_through_the_pipeline() -> None:
    assert experiment_faults([DEV, SHADOW_STAGING, PROD]) == []
    both = [DEV, SHADOW_STAGING, dataclasses.replace(PROD, experiment=Split(weight=0.1))]
    assert experiment_faults(both) == [
        "staging, prod each run an experiment, but the pipeline ships one image, which holds "
        "one challenger: run an experiment in one environment at a time"
    ]


def test_the_experimenting_environment_must_be_in_the_pipelines_account() -> None:
    elsewhere = dataclasses.replace(SHADOW_STAGING, account=OTHER_ACCOUNT)
    assert experiment_faults([DEV, elsewhere]) == [
        f"staging runs an experiment but deploys to account {OTHER_ACCOUNT}: the pipeline "
        f"fetches its challenger from staging's bucket in its own account {PIPELINE_ACCOUNT}; "
        "run the experiment in an environment of that account"
    ]


@pytest.fixture(scope="module")
def with_experiment(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedDelivery:
    """dev, then staging in shadow, with a challenger in place as the synth step leaves it."""
    challenger = tmp_path_factory.mktemp("lambda_image") / "challenger"
    shutil.copytree(MODEL_DIR, challenger)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.challenger, "CHALLENGER_DIR", challenger)
        return synthesize_delivery(
            tmp_path_factory.mktemp("cdk.out-delivery-ab"), [DEV, SHADOW_STAGING]
        )


def test_synth_fetches_the_experimenting_environments_challenger(
    with_experiment: SynthesizedDelivery,
) -> None:
    (synth,) = with_experiment.stage("Build")
    commands = buildspec(with_experiment.project(synth))["phases"]["build"]["commands"]
    assert commands == synth_commands("dev", "staging")


def test_synth_may_read_both_environments_models_and_nothing_more(
    with_experiment: SynthesizedDelivery,
) -> None:
    (synth,) = with_experiment.stage("Build")
    reads = {
        (action, json.dumps(resource))
        for statement in with_experiment.statements_of(with_experiment.project(synth))
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if action in ("s3:GetObject", "s3:ListBucket", "cloudformation:DescribeStacks")
    }
    expected = set()
    for env in ("dev", "staging"):
        bucket = f"arn:aws:s3:::torchlambda-artifacts-{env}-{PIPELINE_ACCOUNT}-{DELIVERY.region}"
        stack = (
            f"arn:aws:cloudformation:{DELIVERY.region}:{PIPELINE_ACCOUNT}:stack/"
            f"TorchLambda-Artifacts-{env}/*"
        )
        expected |= {
            ("cloudformation:DescribeStacks", json.dumps(stack)),
            ("s3:GetObject", json.dumps(f"{bucket}/models/{env}/*")),
            ("s3:ListBucket", json.dumps(bucket)),
        }
    assert reads == expected


def test_cdk_nag_finds_nothing_unacknowledged(with_experiment: SynthesizedDelivery) -> None:
    violations = nag_violations(with_experiment.outdir)
    assert with_experiment.nag_failure is None, "\n".join(
        [with_experiment.nag_failure, *violations]
    )
    assert violations == []
