"""The image's entry point under AWS's Lambda Runtime Interface Emulator (RIE), without Docker.

The RIE is the Runtime API and invoke front end that Lambda's container images are tested with. It
ships as a static binary inside the ``aws-sam-cli`` wheel on PyPI (with the API Gateway sample event
templates of ``sam local generate-event``), so no container runtime is needed: `ensure` downloads
the pinned wheel once with pip, checks its sha256, and extracts only the emulator and the HTTP API
(payload 2.0) event template into ``$XDG_CACHE_HOME/torchlambda/rie/<version>/``.

`image_command` reads the Dockerfile's ENTRYPOINT, CMD and ENV and translates them for this
machine: this interpreter instead of the image's, the sandbox's /tmp in a directory of its own,
MODEL_DIR at a local model. `start` runs that command under the emulator on 127.0.0.1 (ephemeral
ports for both its invoke endpoint and its Runtime API), and `Emulator.invoke` returns each answer
with the emulator's own REPORT line for it; INIT REPORT lines are collected too.

What the emulator reports, and what it does not: like Lambda, it initializes on the first invoke
of an on-demand environment; its INIT REPORT is the init's duration, while its REPORT's "Init
Duration" is not (the first invoke's Duration includes the init instead). "Max Memory Used" only
repeats AWS_LAMBDA_FUNCTION_MEMORY_SIZE: `Emulator.runtime_peak_rss_kib` measures the runtime.
"""

from lambda_image.local.rie.command import (
    LOCAL_TIMEOUT_S,
    FunctionCommand,
    Limits,
    deployed_limits,
    image_command,
)
from lambda_image.local.rie.emulator import Emulator, Invocation, running_image, start
from lambda_image.local.rie.errors import RieError
from lambda_image.local.rie.events import HTTP_API_DEFAULTS, http_api_event, render_template
from lambda_image.local.rie.reports import InitReport, LogParser, Report, parse_report
from lambda_image.local.rie.wheel import (
    EMULATORS,
    HTTP_API_TEMPLATE,
    SAM_CLI,
    Installed,
    Wheel,
    cache_dir,
    ensure,
    pip_download,
    pip_failure,
)

__all__ = [
    "EMULATORS",
    "HTTP_API_DEFAULTS",
    "HTTP_API_TEMPLATE",
    "LOCAL_TIMEOUT_S",
    "SAM_CLI",
    "Emulator",
    "FunctionCommand",
    "InitReport",
    "Installed",
    "Invocation",
    "Limits",
    "LogParser",
    "Report",
    "RieError",
    "Wheel",
    "cache_dir",
    "deployed_limits",
    "ensure",
    "http_api_event",
    "image_command",
    "parse_report",
    "pip_download",
    "pip_failure",
    "render_template",
    "running_image",
    "start",
]
