"""An embedded AWS emulator (moto's server) on 127.0.0.1, with boto3 pointed at it."""

from __future__ import annotations

import logging
import os
import tempfile
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

DEMO_ACCOUNT = "123456789012"
DEMO_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Emulator:
    """A running emulator: its endpoint and the server object that stops it."""

    endpoint: str
    server: Any

    def post(self, path: str) -> bytes:
        """POST to one of moto's control endpoints (``/moto-api/...``) on loopback."""
        request = urllib.request.Request(self.endpoint + path, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
        return body

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as response:
            body: bytes = response.read()
        return body


@contextmanager
def emulator(port: int = 0) -> Iterator[Emulator]:
    """Start moto's server on 127.0.0.1 and point this process's boto3 at it.

    Sets ``AWS_ENDPOINT_URL``, fake credentials and the region for the duration, and restores
    the previous environment afterwards.

    Raises
    ------
    ConfigError
        moto is not installed (it is part of the ``local`` and ``dev`` extras).
    """
    scratch = tempfile.TemporaryDirectory(prefix="driftwarden-emulator-")
    recording = str(Path(scratch.name) / "recording.jsonl")
    # moto's request recorder writes to a file named by this variable (default: the current
    # directory); it is read when moto is imported, so set it first and point an already
    # imported recorder there as well.
    os.environ["MOTO_RECORDER_FILEPATH"] = recording
    try:
        from moto.moto_api import recorder
        from moto.server import ThreadedMotoServer
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ConfigError(
            "the local emulator needs moto: pip install 'driftwarden[local]' (make demo does)"
        ) from err
    # The emulator's HTTP server logs every request; the demo prints its own account of them.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    recorder._location = recording
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    emu = Emulator(endpoint, server)
    # moto keeps its state per process: start from an empty account whatever ran before.
    emu.post("/moto-api/reset")
    overrides = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": DEMO_REGION,
        "AWS_DEFAULT_REGION": DEMO_REGION,
        "MOTO_ACCOUNT_ID": DEMO_ACCOUNT,
    }
    saved = {name: os.environ.get(name) for name in [*overrides, "AWS_PROFILE"]}
    os.environ.update(overrides)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield emu
    finally:
        server.stop()
        scratch.cleanup()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
