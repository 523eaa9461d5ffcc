"""The names every part of TorchLambda shares, defined once: the image, the CDK app, training, ops.

Routes, the model directory and file names, the artifacts bucket's key layout, the alias, the
service name and metric namespace, the request limits, and the environment variables the
function reads. Standard library only, so that the CDK app and the ops tools import it for free.
The Dockerfile cannot import Python: where it repeats a value, a test compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

# ---- HTTP API ---------------------------------------------------------------------------------

Method = Literal["GET", "POST"]


@dataclass(frozen=True)
class Route:
    """One route of the HTTP API: the gateway, the handler's router and the tests all read these."""

    method: Method
    path: str
    operation: str  # the InferenceApi method that answers it, and the OpenAPI operationId
    summary: str


ROUTES: tuple[Route, ...] = (
    Route("GET", "/predict", "predict_one", "Predict y for one x given in the query string"),
    Route("POST", "/predict", "predict_body", "Predict y for a number or a list of numbers"),
    Route("GET", "/health", "health", "Liveness, the served model version and torch version"),
    Route("POST", "/feedback", "feedback", "Record labelled observations (x and the true y)"),
)


def route_paths() -> dict[str, tuple[Method, ...]]:
    """Each path with the methods it accepts, in table order."""
    paths: dict[str, tuple[Method, ...]] = {}
    for route in ROUTES:
        paths[route.path] = (*paths.get(route.path, ()), route.method)
    return paths


MODEL_VERSION_HEADER = "x-model-version"
MODEL_VERSION_LENGTH = 12  # hex digits of the model_id that responses carry

# ---- Request limits ---------------------------------------------------------------------------

MAX_BATCH = 10_000  # numbers in one POST
MAX_X_CHARS = 64  # characters of x in a query string
# 10,000 numbers of up to 64 characters each, with separators, fit in 1 MiB.
MAX_BODY_CHARS = 1 << 20
DEFAULT_MAX_ABS_X = 1e6  # the x domain served unless MAX_ABS_X says otherwise

# ---- The function -----------------------------------------------------------------------------

HANDLER = "torchlambda.handler.handler"  # the image's CMD
FUNCTION_ROOT = PurePosixPath("/var/task")  # Lambda's LAMBDA_TASK_ROOT: the image's WORKDIR
MODEL_DIR_IN_IMAGE = FUNCTION_ROOT / "model"
ALIAS_NAME = "live"  # the alias the HTTP API invokes and provisioned concurrency sits on
SERVICE_NAME = "torchlambda-inference"
METRIC_NAMESPACE = "TorchLambda"
TORCH_THREADS = 1  # one intra-op thread is fastest for batch-1 requests

# Environment variables the function reads (the CDK sets them; Settings parses them).
ENV_MODEL_DIR = "MODEL_DIR"
ENV_TORCH_THREADS = "TORCH_NUM_THREADS"
ENV_MAX_ABS_X = "MAX_ABS_X"
ENV_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
ENV_METRIC_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"
# Read by torch's libraries themselves at import; set to TORCH_THREADS in the image.
LIBRARY_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

# ---- Model artifact ---------------------------------------------------------------------------

WEIGHTS_FILE = "model.pth"
CARD_FILE = "model.json"
PLOT_FILE = "training.png"
MODEL_FILES = (WEIGHTS_FILE, CARD_FILE, PLOT_FILE)

# ---- Where the function finds its model ---------------------------------------------------------
# image: baked into the image at MODEL_DIR_IN_IMAGE (the default).
# s3:    downloaded at init from the artifacts bucket's models/<env>/<build id>/ into
#        MODEL_DOWNLOAD_DIR, the weights' sha256 verified against ENV_MODEL_SHA256 before loading.
# efs:   read in place from the file system mounted at EFS_MOUNT_PATH, <build id>/ below it,
#        its sha256 verified once per init; the model copy function puts builds there.

ModelSourceKind = Literal["image", "s3", "efs"]
MODEL_SOURCES: tuple[ModelSourceKind, ...] = ("image", "s3", "efs")
ENV_MODEL_SOURCE = "MODEL_SOURCE"
ENV_MODEL_BUCKET = "MODEL_BUCKET"  # s3: the bucket holding the build
ENV_MODEL_PREFIX = "MODEL_PREFIX"  # s3: the build's prefix, models/<env>/<build>/
# The weights' sha256 a published version is pinned to (the card's `sha256`); required by s3
# and efs, checked for an image model when set.
ENV_MODEL_SHA256 = "MODEL_SHA256"
MODEL_DOWNLOAD_DIR = PurePosixPath("/tmp/model")  # s3: /tmp is the only writable path
EFS_MOUNT_PATH = PurePosixPath("/mnt/models")  # Lambda requires mount paths below /mnt/
# The model copy function (efs) reads builds below this prefix (the environment's models/<env>/)
# and copies one, named by its event, from S3 into the file system.
ENV_MODELS_PREFIX = "MODELS_PREFIX"
MODEL_COPY_HANDLER = "torchlambda.model_sources.copy_handler.handler"


def efs_model_dir(build_id: str) -> PurePosixPath:
    """A build's directory on the file system, as the functions see it mounted."""
    if not build_id or "/" in build_id or build_id in (".", ".."):
        raise ValueError(f"{build_id!r} is not a build id")
    return EFS_MOUNT_PATH / build_id


# ---- The artifacts bucket ---------------------------------------------------------------------
# data/...                                    training data
# models/<env>/<build id>/<MODEL_FILES>       one build's model, written create-only
# models/<env>/latest.json                    the pointer, written last
# batch/in/...                                batch scoring's input objects
# batch/out/<job id>/...                      one batch job's manifest, results and summary

DATA_PREFIX = "data/"
MODELS_PREFIX = "models/"
POINTER_FILE = "latest.json"
DEFAULT_TRAINING_DATA_KEY = DATA_PREFIX + "train.csv"


def environment_models_prefix(environment: str) -> str:
    """Where one environment's models live; its training role may write nowhere else."""
    return f"{MODELS_PREFIX}{environment}/"


def model_prefix(environment: str, build_id: str) -> str:
    return f"{environment_models_prefix(environment)}{build_id}/"


def model_key(environment: str, build_id: str, file_name: str) -> str:
    return model_prefix(environment, build_id) + file_name


def pointer_key(environment: str) -> str:
    return environment_models_prefix(environment) + POINTER_FILE


# ---- Batch scoring ----------------------------------------------------------------------------
# A job scores every object under one input prefix (or one input key) below batch/in/. Its id is
# the state machine execution's name; everything it writes lives under batch/out/<job id>/:
#   manifest.jsonl                            the objects to score (the Map's item reader)
#   map/                                      the Distributed Map's result writer
#   predictions/<input key below batch/in/>   each object scored, same format, y added
#   errors/<input key below batch/in/>.errors.jsonl   rejected rows: line number and reason
#   reports/<input key below batch/in/>.json  what scoring that object did (written after it)
#   summary.json                              counts, model version, duration, verdict

BATCH_INPUT_PREFIX = "batch/in/"
BATCH_OUTPUT_PREFIX = "batch/out/"
# The batch functions' CMDs; each module initializes its function at import, as HANDLER's does.
BATCH_WORKER_HANDLER = "torchlambda.batch.worker_handler.handler"
BATCH_JOB_HANDLER = "torchlambda.batch.job_handler.handler"  # validate, then summarize
BATCH_SERVICE_NAME = "torchlambda-batch"
# Read by the batch functions (set by the CDK).
ENV_ARTIFACTS_BUCKET = "ARTIFACTS_BUCKET"
ENV_TOLERATED_FAILURE_PERCENTAGE = "TOLERATED_FAILURE_PERCENTAGE"
ERRORS_SUFFIX = ".errors.jsonl"


def batch_job_prefix(job_id: str) -> str:
    return f"{BATCH_OUTPUT_PREFIX}{job_id}/"


def batch_manifest_key(job_id: str) -> str:
    return batch_job_prefix(job_id) + "manifest.jsonl"


def batch_results_prefix(job_id: str) -> str:
    """Where the Distributed Map's result writer puts its manifest and result files."""
    return batch_job_prefix(job_id) + "map/"


def batch_summary_key(job_id: str) -> str:
    return batch_job_prefix(job_id) + "summary.json"


def _below_input(input_key: str) -> str:
    if not input_key.startswith(BATCH_INPUT_PREFIX) or input_key == BATCH_INPUT_PREFIX:
        raise ValueError(f"{input_key!r} is not an object below {BATCH_INPUT_PREFIX}")
    return input_key.removeprefix(BATCH_INPUT_PREFIX)


def batch_output_key(job_id: str, input_key: str) -> str:
    """An input object's predictions: the same name (and format) below the job's prefix."""
    return f"{batch_job_prefix(job_id)}predictions/{_below_input(input_key)}"


def batch_report_key(job_id: str, input_key: str) -> str:
    """An input object's report (counts, keys, model version), written once its output is."""
    return f"{batch_job_prefix(job_id)}reports/{_below_input(input_key)}.json"


def batch_errors_key(job_id: str, input_key: str) -> str:
    """An input object's rejected rows, one JSON line each."""
    return f"{batch_job_prefix(job_id)}errors/{_below_input(input_key)}{ERRORS_SUFFIX}"


# ---- The model lifecycle (docs/lifecycle.md) ----------------------------------------------------
# Below an environment's models/<env>/ prefix:
#   champion.json                      the build the environment serves and why, moved only by a
#                                      conditional write (If-Match its ETag, If-None-Match: * first)
#   <build id>/test.csv                the build's held-out test split (book CSV, y,x), published
#                                      with its model
#   <build id>/evaluation.json         the build scored against the champion, written create-only
# The retrain workflow trains a candidate (published as any build is), evaluates it, gates it and
# promotes it; a promotion is announced on the default event bus.

CHAMPION_FILE = "champion.json"
TEST_SPLIT_FILE = "test.csv"
EVALUATION_FILE = "evaluation.json"
DEFAULT_HOLDOUT_KEY = DATA_PREFIX + "holdout.csv"
# The evaluation set a workflow scores both models on: a key under data/, or this word for the
# candidate's own published test split.
CANDIDATE_TEST_SPLIT = "candidate"
EVALUATE_HANDLER = "torchlambda.lifecycle.evaluate_handler.handler"
PROMOTE_HANDLER = "torchlambda.lifecycle.promote_handler.handler"
LIFECYCLE_SERVICE_NAME = "torchlambda-lifecycle"
# Read by the evaluate and promote functions (set by the CDK).
ENV_ENVIRONMENT_NAME = "ENVIRONMENT_NAME"
ENV_EVALUATION_SET = "EVALUATION_SET"
# The event a promotion puts on the default bus; the delivery pipeline starts on dev's.
LIFECYCLE_EVENT_SOURCE = "torchlambda.lifecycle"
CHAMPION_PROMOTED = "Champion promoted"


def names_an_evaluation_set(setting: str) -> bool:
    """A key under data/, or the word for the candidate's own test split (config checks this at
    synth, the evaluate function at init)."""
    return setting == CANDIDATE_TEST_SPLIT or (
        setting.startswith(DATA_PREFIX) and setting != DATA_PREFIX
    )


def champion_key(environment: str) -> str:
    return environment_models_prefix(environment) + CHAMPION_FILE


def held_out_split_key(environment: str, build_id: str) -> str:
    return model_key(environment, build_id, TEST_SPLIT_FILE)


def evaluation_key(environment: str, build_id: str) -> str:
    return model_key(environment, build_id, EVALUATION_FILE)


# ---- Champion/challenger experiments (docs/experiments.md) --------------------------------------
# One function version serves both models: the champion from MODEL_DIR as always, the challenger
# baked beside it (lambda_image/challenger/ -> CHALLENGER_DIR_IN_IMAGE, installed with
# `make fetch-model ... AS=challenger`), its weights' sha256 pinned by synthesis.
#   shadow: the champion answers every request; the challenger predicts the same x, logged beside it
#   split:  the challenger answers a stable share of callers, by a hash of the sticky header's value
#           (falling back to the request id)
# POST /feedback records labelled observations, each scored by the models the function serves, as
# one log event per FEEDBACK_PAIRS_PER_EVENT pairs (torchlambda.experiment.feedback); `make
# ab-report` reads them back.

ExperimentMode = Literal["none", "shadow", "split"]
EXPERIMENT_MODES: tuple[ExperimentMode, ...] = ("none", "shadow", "split")
Variant = Literal["champion", "challenger"]
CHAMPION: Variant = "champion"
CHALLENGER: Variant = "challenger"
CHALLENGER_DIR_IN_IMAGE = FUNCTION_ROOT / "challenger"
# Written by `make fetch-model AS=challenger` beside the challenger's model: which build it is, so
# that `make ab-report --promote` promotes exactly the model that was tested.
CHALLENGER_BUILD_FILE = "build.json"
ENV_EXPERIMENT = "EXPERIMENT"  # none (default), shadow or split
ENV_CHALLENGER_DIR = "CHALLENGER_DIR"
ENV_CHALLENGER_SHA256 = "CHALLENGER_SHA256"  # the challenger's weights, pinned at synth
ENV_SPLIT_WEIGHT = "SPLIT_WEIGHT"  # split: the share of callers the challenger answers
ENV_STICKY_HEADER = "STICKY_HEADER"  # split: the header whose value keeps a caller's variant
MAX_SPLIT_WEIGHT = 0.5
DEFAULT_STICKY_HEADER = "x-user-id"
MODEL_VARIANT_HEADER = "x-model-variant"
FEEDBACK_PAIRS_PER_EVENT = 1_000  # pairs in one feedback log event: far below its 256 KB limit
# The EMF metrics every request adds, dimensioned by service, model_version and variant.
METRIC_PREDICTIONS = "predictions"
METRIC_ERRORS = "errors"  # also dimensioned by error_code
METRIC_MODEL_LATENCY = "model_latency"  # milliseconds in the forward pass
METRIC_CHALLENGER_FAILURES = "challenger_failures"  # a challenger fault the champion covered
DIMENSION_MODEL_VERSION = "model_version"
DIMENSION_VARIANT = "variant"
DIMENSION_ERROR_CODE = "error_code"
