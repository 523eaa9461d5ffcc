"""Run the handler once on an event file and print its response: ``make invoke EVENT=path.json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lambda_image.local.function import LocalContext, load_local_function


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("event", type=Path, help="JSON event file, e.g. lambda_image/events/*.json")
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read event {args.event}: {error}", file=sys.stderr)
        return 2
    response = load_local_function()(event, LocalContext())
    print(json.dumps(response, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
