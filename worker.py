"""Runs one Temporal worker (plan workflows + activities) with its connection pool.

Also reachable as `temaplan worker`. Stops cleanly on SIGINT/SIGTERM: in-flight
activities finish, workflows stay parked at their gates on the server.
"""

from __future__ import annotations

import asyncio
import sys

from runtime.logging import configure_logging
from runtime.settings import load_settings
from temaplan.worker_service import run_worker


def main() -> int:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
