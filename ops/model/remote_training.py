"""Train in the cloud: upload the data, run the CodeBuild project, follow it, fetch the model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from infra.config import EnvironmentConfig
from infra.model_version import MODEL_DIR
from ops.aws import AwsClients
from ops.errors import Interrupted, OpsError
from ops.model.build_watch import BuildWatcher
from ops.model.fetch import FetchedModel, fetch_model
from ops.model.store import published_build_id, read_pointer
from ops.stack_outputs import stack_output


def check_data_file(data: Path) -> Path:
    """Fail before touching AWS if the local training data is not there."""
    if not data.is_file():
        raise OpsError(f"DATA={data}: no such file; give the path of a training CSV")
    if data.stat().st_size == 0:
        raise OpsError(f"DATA={data}: the file is empty")
    return data


def train_remote(
    clients: AwsClients,
    config: EnvironmentConfig,
    watcher: BuildWatcher,
    say: Callable[[str], None],
    *,
    data: Path | None = None,
    model_dir: Path = MODEL_DIR,
) -> FetchedModel:
    if data is not None:
        check_data_file(data)
    project = stack_output(clients.cloudformation, config, "TrainingProjectName")
    bucket = stack_output(clients.cloudformation, config, "ArtifactsBucketName")
    if data is not None:
        clients.s3.upload_file(str(data), bucket, config.training.data_key)
        say(f"uploaded {data} to s3://{bucket}/{config.training.data_key}")

    build_id = clients.codebuild.start_build(projectName=project)["build"]["id"]
    say(f"started build {build_id} of project {project}")
    result = watcher.watch(build_id)
    if result.stopped_on_request:
        raise Interrupted(f"build {build_id} stopped at your request; the model is unchanged")
    if not result.succeeded:
        raise OpsError(result.failure_message())

    published = published_build_id(build_id)
    pointer = read_pointer(clients.s3, bucket, config.name)
    if pointer.build_id != published:
        # Another build published after this one: install exactly what this build produced.
        say(f"note: latest.json now points at build {pointer.build_id}; fetching {published}")
        return fetch_model(clients.s3, bucket, config.name, published, model_dir=model_dir)
    return fetch_model(clients.s3, bucket, config.name, model_dir=model_dir)
