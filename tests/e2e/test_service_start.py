"""A service that cannot listen ends at once, so that the runner (or any supervisor) sees it and acts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from deploy.system import ROOT, free_port


@pytest.mark.parametrize("service", ["identity", "publisher"])
def test_a_service_whose_port_is_taken_exits_instead_of_hanging(service: str) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_")},
               f"POSTIFYS_{service.upper()}_URL": f"http://127.0.0.1:{port}", "POSTIFYS_LOG_FORMAT": "json"}
        finished = subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=env,
                                  capture_output=True, timeout=30)
    assert finished.returncode != 0
    assert b"already in use" in finished.stdout + finished.stderr
