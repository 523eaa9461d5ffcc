"""The EFS model store: a VPC, an encrypted file system, its access point, and the copy function.

The functions that serve mount the access point read-only at EFS_MOUNT_PATH; the copy function
(the same image, another CMD) is the only writer: it copies one published build from the
artifacts bucket into ``<build id>/`` below the access point and verifies it (``make copy-model``).
Network: isolated subnets with no route to the internet, NFS allowed only from the clients'
security group to the file system's, S3 through a gateway endpoint (the copy function and the
batch workers read the bucket; Lambda's logs and image pulls do not cross the VPC).
"""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.image_function import ImageFunction
from infra.constructs.model_artifacts import artifacts_bucket_name, bucket_arn_text
from infra.constructs.model_binding import MOUNT_ACTIONS, WRITE_ACTIONS, ModelMount
from infra.constructs.retention import (
    RESTRICT_DEFAULT_SG_PROVIDER_ID,
    log_group,
    removal_policy,
    retain_provider_logs,
)
from infra.settings.function import FunctionSettings
from infra.settings.model_source import EfsSource, ExistingVpc, NewVpc
from infra.settings.retention import RetentionSettings
from torchlambda import contract

NFS = ec2.Port.tcp(2049)
# The access point's owner: every file the copy writes is this user's, and every function that
# mounts through it reads as this user, whatever user its runtime runs as.
MODEL_OWNER_UID = "1001"
ACCESS_POINT_PATH = "/models"
COPY_MEMORY_MB = 1024  # streams in 8 MiB parts: no torch, no model in memory
COPY_TIMEOUT_SECONDS = 15 * 60  # Lambda's maximum: about 90 GB at 100 MB/s
COPY_SERVICE_NAME = "torchlambda-model-copy"


def availability_zone_tokens(count: int) -> list[str]:
    """The region's first `count` zones, resolved by CloudFormation: no lookup at synth."""
    return [Fn.select(index, Fn.get_azs()) for index in range(count)]


class ModelStore(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        source: EfsSource,
        function: FunctionSettings,
        retention: RetentionSettings,
        base_image_uri: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc, self.subnets = self._network(source, retention)
        self.file_system_security_group = ec2.SecurityGroup(
            self,
            "FileSystemSecurityGroup",
            vpc=self.vpc,
            description="EFS model store: NFS from the model store clients only",
            allow_all_outbound=False,
        )
        self.client_security_group = ec2.SecurityGroup(
            self,
            "ClientSecurityGroup",
            vpc=self.vpc,
            description="Functions that read the EFS model store (and S3 through the endpoint)",
            allow_all_outbound=False,
        )
        self.file_system_security_group.add_ingress_rule(
            self.client_security_group, NFS, "NFS from the model store's clients"
        )
        self.client_security_group.add_egress_rule(
            self.file_system_security_group, NFS, "NFS to the model store"
        )
        # HTTPS anywhere routes nowhere but S3's gateway endpoint: the subnets have no NAT.
        self.client_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 through the gateway endpoint"
        )
        self.file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            security_group=self.file_system_security_group,
            encrypted=True,
            throughput_mode=efs.ThroughputMode.ELASTIC
            if source.throughput == "elastic"
            else efs.ThroughputMode.BURSTING,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            # A copy of published builds, which S3 keeps: nothing here needs a backup.
            enable_automatic_backups=False,
            removal_policy=removal_policy(retention),
            # The policy below grants nothing to anonymous clients; True only keeps the CDK from
            # adding write access for every principal that reaches a mount target.
            allow_anonymous_access=True,
            file_system_policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        effect=iam.Effect.DENY,
                        principals=[iam.AnyPrincipal()],
                        actions=["*"],
                        conditions={"Bool": {"aws:SecureTransport": "false"}},
                    )
                ]
            ),
        )
        self.access_point = self.file_system.add_access_point(
            "AccessPoint",
            path=ACCESS_POINT_PATH,
            create_acl=efs.Acl(
                owner_uid=MODEL_OWNER_UID, owner_gid=MODEL_OWNER_UID, permissions="755"
            ),
            posix_user=efs.PosixUser(uid=MODEL_OWNER_UID, gid=MODEL_OWNER_UID),
        )
        self.mount = ModelMount(
            vpc=self.vpc,
            subnets=self.subnets,
            client_security_group=self.client_security_group,
            file_system=self.file_system,
            access_point=self.access_point,
        )
        self.copy_function = self._copy_function(
            environment_name, function, retention, base_image_uri
        )

    def _network(
        self, source: EfsSource, retention: RetentionSettings
    ) -> tuple[ec2.IVpc, ec2.SubnetSelection]:
        network = source.network
        if isinstance(network, ExistingVpc):
            vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=network.vpc_id,
                availability_zones=list(network.availability_zones),
                private_subnet_ids=list(network.private_subnet_ids),
                private_subnet_route_table_ids=list(network.route_table_ids),
            )
            subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            if network.add_s3_endpoint:
                vpc.add_gateway_endpoint(
                    "S3Endpoint",
                    service=ec2.GatewayVpcEndpointAwsService.S3,
                    subnets=[subnets],
                )
            return vpc, subnets
        assert isinstance(network, NewVpc)  # EfsSource refuses a missing network
        flow_logs = log_group(self, "FlowLogs", retention)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(network.cidr),
            availability_zones=availability_zone_tokens(network.max_azs),
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Models", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            # Rejected traffic only: what the security groups refused is what is worth reading.
            flow_logs={
                "Rejected": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
        )
        retain_provider_logs(
            self, retention, RESTRICT_DEFAULT_SG_PROVIDER_ID, "RestrictDefaultSecurityGroupLogs"
        )
        return vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

    def _copy_function(
        self,
        environment_name: str,
        function: FunctionSettings,
        retention: RetentionSettings,
        base_image_uri: str,
    ) -> lambda_.DockerImageFunction:
        bucket = s3.Bucket.from_bucket_name(
            self, "Artifacts", artifacts_bucket_name(environment_name)
        )
        models_prefix = contract.environment_models_prefix(environment_name)
        copy = ImageFunction(
            self,
            "Copy",
            description=f"EFS model copy function ({environment_name})",
            cmd=contract.MODEL_COPY_HANDLER,
            function=function,
            base_image_uri=base_image_uri,
            memory_mb=COPY_MEMORY_MB,
            timeout_seconds=COPY_TIMEOUT_SECONDS,
            reserved_concurrency=None,
            retention=retention,
            environment={
                contract.ENV_SERVICE_NAME: COPY_SERVICE_NAME,
                contract.ENV_MODEL_BUCKET: bucket.bucket_name,
                contract.ENV_MODELS_PREFIX: models_prefix,
            },
            dlq_reason="Invoked synchronously by `make copy-model`, which reports its answer or "
            "error; there is no asynchronous event to park in a queue.",
            props_for_role=lambda role: self.mount.function_props(
                role, MOUNT_ACTIONS + WRITE_ACTIONS
            ),
        )
        # Any build of this environment: which one is the event's, known only at run time.
        copy.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{models_prefix}*")]
            )
        )
        copy.acknowledge_findings(
            {
                f"Resource::{bucket_arn_text(self, environment_name)}/{models_prefix}*": "Reads "
                "the published build its event names, below this environment's models/ prefix; "
                "build ids exist only at run time.",
            }
        )
        return copy.function
