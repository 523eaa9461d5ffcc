"""Run the handler once on an event file and print its response: ``make invoke EVENT=path.json``.

With ``--rie`` the image's entry point answers instead (the Dockerfile's ENTRYPOINT and CMD under
the Lambda Runtime Interface Emulator, see `lambda_image.local.rie`): the response is printed
the same way, and the emulator's log (the function's own lines, INIT REPORT and REPORT with
Duration and Billed Duration) goes to stderr, as Lambda writes it to CloudWatch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lambda_image.local import rie
from lambda_image.local.function import LocalContext, load_local_function, model_dir, require_model


def invoke_emulated(event: Any) -> int:
    """One invocation of the image's command under the emulator; non-zero if it failed."""
    require_model()
    try:
        with rie.running_image(model_dir(), rie.deployed_limits(), sink=sys.stderr) as emulator:
            invocation = emulator.invoke(event)
            payload = invocation.payload
    except rie.RieError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(payload, indent=2))
    # A function error (an init failure, an exception) reaches the caller as errorType/Message.
    failed = isinstance(payload, dict) and "errorType" in payload
    return 0 if invocation.status == 200 and invocation.report is not None and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("event", type=Path, help="JSON event file, e.g. lambda_image/events/*.json")
    parser.add_argument(
        "--rie",
        action="store_true",
        help="run the image's entry point under the Lambda RIE (downloaded once into the cache)",
    )
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read event {args.event}: {error}", file=sys.stderr)
        return 2
    if args.rie:
        return invoke_emulated(event)
    response = load_local_function()(event, LocalContext())
    print(json.dumps(response, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
