"""The administrators' entry: start a plan workflow from a plan file.

An invalid file starts nothing and prints every problem with file and field path. Also
reachable as `temaplan start PLAN_FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from client.plans import start_from_file
from runtime.logging import configure_logging
from runtime.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="starter", description="start a plan workflow from a plan file"
    )
    parser.add_argument("plan_file", type=Path)
    parser.add_argument("--administrator", default="administrator", help="who starts the plan")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return asyncio.run(start_from_file(settings, args.plan_file, args.administrator))


if __name__ == "__main__":
    sys.exit(main())
