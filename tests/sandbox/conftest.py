"""The sandbox as its own process on a free port, reset before every test; tests reach it over HTTP only."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.system import ROOT, free_port

STARTUP_SECONDS = 30


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_")},
           "POSTIFYS_ENV": "test", "POSTIFYS_LOG_FORMAT": "json", "POSTIFYS_SANDBOX_URL": url,
           # Webhooks go to POSTIFYS_PUBLIC_URL unless a test points them elsewhere: a port nothing listens on.
           "POSTIFYS_PUBLIC_URL": "http://127.0.0.1:9"}
    log_path = Path(tempfile.mkdtemp(prefix="postifys-sandbox-")) / "sandbox.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "sandbox"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the sandbox exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)  # the port is not open yet; poll again until the deadline
    pytest.fail(f"the sandbox was not healthy within {STARTUP_SECONDS}s:\n{log_path.read_text()}")


@pytest.fixture
def http(sandbox_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url, timeout=10, follow_redirects=False) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh_sandbox(http: httpx.Client) -> None:
    http.post("/_sandbox/reset").raise_for_status()
