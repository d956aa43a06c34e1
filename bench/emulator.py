"""The emulated account: moto's server in this process, the latency proxy in its own process.

moto runs in a thread of the harness process so the workload can be written straight into its
backends; the proxy runs in a separate process (its own interpreter lock) so forwarding never
competes with moto for the GIL more than it must. Every contender talks to the proxy.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from bench import workload

ROOT = Path(__file__).resolve().parent.parent

#: Fake credentials for every process that talks to the emulator.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": workload.REGION,
    "AWS_REGION": workload.REGION,
}


class Emulator:
    """moto on 127.0.0.1 plus the latency proxy; grows the workload in place.

    Parameters
    ----------
    latency_ms
        Injected latency per AWS call, in milliseconds.
    python
        The interpreter that runs the proxy.
    """

    def __init__(self, latency_ms: float, python: str = sys.executable) -> None:
        self.latency_ms = latency_ms
        self.python = python
        self.roles = 0
        self.data_sources = 0
        self._server: Any = None
        self._proxy: subprocess.Popen[str] | None = None
        self.moto_url = ""
        self.proxy_url = ""

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self._proxy = subprocess.Popen(
            [
                self.python,
                "-m",
                "bench.proxy",
                "--upstream",
                self.moto_url,
                "--latency-ms",
                str(self.latency_ms),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proxy.stdout is not None
        self.proxy_url = self._proxy.stdout.readline().strip()
        if not self.proxy_url.startswith("http://"):
            raise RuntimeError("the latency proxy did not start")

    def stop(self) -> None:
        if self._proxy is not None:
            assert self._proxy.stdin is not None
            self._proxy.stdin.close()
            try:
                self._proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proxy.kill()
                self._proxy.wait()
            self._proxy = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    # ------------------------------------------------------------------------ workload

    @staticmethod
    def iam_backend() -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[workload.ACCOUNT][workload.PARTITION]

    @staticmethod
    def quicksight_backend() -> Any:
        from moto.quicksight.models import quicksight_backends

        return quicksight_backends[workload.ACCOUNT][workload.REGION]

    def grow(self, roles: int, data_sources: int) -> None:
        """Make the account hold ``roles`` roles and ``data_sources`` data sources."""
        if roles < self.roles:
            raise ValueError("the workload only grows")
        workload.populate_iam(self.iam_backend(), self.roles, roles)
        self.roles = roles
        workload.populate_quicksight(self.quicksight_backend(), roles, data_sources)
        self.data_sources = data_sources

    # -------------------------------------------------------------------------- counts

    def reset_counts(self) -> None:
        control(self.proxy_url, "reset", "POST")

    def counts(self) -> dict[str, Any]:
        """``{"calls": {operation: n}, "statuses": {"operation status": n}}`` since the reset."""
        return control(self.proxy_url, "counts")

    def set_latency(self, ms: float) -> None:
        control(self.proxy_url, f"latency?ms={ms}", "POST")

    def env(self) -> dict[str, str]:
        """Environment additions for a process that should reach AWS through the proxy."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.proxy_url}


def control(proxy_url: str, name: str, method: str = "GET") -> dict[str, Any]:
    """Call a proxy control endpoint from any process."""
    request = urllib.request.Request(f"{proxy_url}/__bench__/{name}", method=method)
    with urllib.request.urlopen(request) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data
