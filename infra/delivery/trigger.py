"""Runs the pipeline when the first environment promotes a champion (the retrain workflow's
event), so a better model ships without a push."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events_
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from torchlambda import contract
from torchlambda.lifecycle import events


def champion_promoted(environment: str) -> events_.EventPattern:
    """The retrain workflow's announcement that `environment` has a new champion."""
    return events_.EventPattern(
        source=[contract.LIFECYCLE_EVENT_SOURCE],
        detail_type=[contract.CHAMPION_PROMOTED],
        detail={events.ENVIRONMENT: [environment]},
    )


class ChampionTrigger(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        pipeline: codepipeline.IPipeline,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events_.Rule(
            self,
            "Rule",
            description=f"Ships the model {environment} promotes",
            event_pattern=champion_promoted(environment),
            targets=[targets.CodePipeline(pipeline)],
        )
        Validations.of(self.rule).acknowledge(
            Acknowledgment(
                id="Serverless-EventBusDLQ",
                reason="A missed start loses nothing: champion.json stays the source of truth, "
                "and the next run (a push, the next promotion, or Release change) ships it.",
            )
        )
