"""Our own docker-compose.yml, read as a deployment would read it, run as real processes: production settings,
no development mailbox, refusals that name their setting, and Meta callbacks that only the real secret opens."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from deploy.system import ROOT, free_port
from services.privacy.signed_request import make_signed_request
from shared.internal import CALLERS, Signer, encode_seed, public_keys_text
from shared.messaging.dead_letters import delete_topology
from tests.support import Stack, wait_for

SEEDS = {caller: os.urandom(32) for caller in CALLERS}
META_SECRET = "a-real-meta-secret-" + os.urandom(8).hex()
# What an operator puts in .env, as the compose file's header asks.
OPERATOR = {
    "POSTIFYS_PUBLIC_URL": "https://postifys.example",
    "POSTIFYS_SMTP_URL": "smtp://mail.example:587",
    "POSTIFYS_VAULT_KEYS": f"k1:{base64.b64encode(os.urandom(32)).decode()}",
    "POSTIFYS_INTERNAL_PUBLIC_KEYS": public_keys_text(SEEDS),
    **{f"POSTIFYS_{c.upper()}_INTERNAL_KEY": encode_seed(seed) for c, seed in SEEDS.items()},
    "POSTIFYS_META_APP_ID": "1234567890", "POSTIFYS_META_APP_SECRET": META_SECRET,
    "POSTIFYS_META_WEBHOOK_VERIFY_TOKEN": "verify-" + os.urandom(8).hex(),
    "POSTIFYS_TIKTOK_CLIENT_KEY": "awclient", "POSTIFYS_TIKTOK_CLIENT_SECRET": "tiktok-" + os.urandom(8).hex(),
    "POSTIFYS_PRIVACY_HASH_KEY": encode_seed(os.urandom(32)),
    "POSTGRES_PASSWORD": "pg-" + os.urandom(8).hex(), "RABBITMQ_PASSWORD": "mq-" + os.urandom(8).hex(),
}
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}")


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's own rules for `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""
    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if given.get(name):
            return given[name]
        if kind == "?":
            raise KeyError(f"{name}: {rest}")
        return rest if kind == "-" else ""
    return _VARIABLE.sub(one, value)


def compose_environment(service: str, given: dict[str, str]) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]
    return {k: interpolate(str(v), given) for k, v in spec["environment"].items()}


def test_the_compose_file_refuses_to_start_without_what_the_operator_must_set() -> None:
    with pytest.raises(KeyError, match="POSTIFYS_SMTP_URL"):
        compose_environment("identity", {k: v for k, v in OPERATOR.items() if k != "POSTIFYS_SMTP_URL"})
    with pytest.raises(KeyError, match="POSTIFYS_GATEWAY_INTERNAL_KEY"):
        compose_environment("gateway", {k: v for k, v in OPERATOR.items() if k != "POSTIFYS_GATEWAY_INTERNAL_KEY"})


@contextlib.contextmanager
def process(module: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_")}
    with log.open("wb") as out:
        started = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env={**base, **env},
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        yield started
    finally:
        started.terminate()
        try:
            started.wait(10)
        except subprocess.TimeoutExpired:
            started.kill()
            started.wait()


async def up(url: str, started: subprocess.Popen[bytes], log: Path) -> None:
    async def answering() -> bool:
        assert started.poll() is None, log.read_text()
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"{url}/healthz", timeout=1)).status_code == 200
        except httpx.HTTPError:
            return False
    await wait_for(answering, timeout=30, message=f"{url} to answer")


def gateway_environment(overrides: dict[str, str]) -> tuple[dict[str, str], str]:
    port = free_port()
    env = {**compose_environment("gateway", OPERATOR), "POSTIFYS_PORT": str(port),
           "POSTIFYS_METRICS_PORT": str(free_port()),
           # Nothing listens there: a mailbox of some `make run` on this machine must not answer for this one.
           "POSTIFYS_DEVMAIL_URL": f"http://127.0.0.1:{free_port()}", **overrides}
    return env, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("overrides", "serves"), [
    ({}, False),  # the compose file as it is: production
    ({"POSTIFYS_ENV": "development"}, False),  # an operator who "just tries" development mode
    ({"POSTIFYS_ENV": "development", "POSTIFYS_DEVMAIL": "1"}, False),  # still bound to every address
    ({"POSTIFYS_ENV": "development", "POSTIFYS_DEVMAIL": "1", "POSTIFYS_HOST": "127.0.0.1"}, True),  # make run's
    ({"POSTIFYS_ENV": "production", "POSTIFYS_DEVMAIL": "1", "POSTIFYS_HOST": "127.0.0.1"}, False),
])
async def test_the_development_mailbox_exists_only_where_make_run_started_it(
        tmp_path: Path, overrides: dict[str, str], serves: bool) -> None:
    env, url = gateway_environment(overrides)
    with process("services.gateway", env, tmp_path / "gateway.log") as gateway:
        await up(url, gateway, tmp_path / "gateway.log")
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{url}/dev/mailbox")
    # 503: the route exists and says the mailbox is not running here.
    assert answer.status_code == (503 if serves else 404), answer.text


@pytest.mark.parametrize(("service", "spoiled", "variable"), [
    ("webhooks", {"POSTIFYS_META_WEBHOOK_VERIFY_TOKEN": "sandbox-verify-token"}, "POSTIFYS_META_WEBHOOK_VERIFY_TOKEN"),
    ("connector", {"POSTIFYS_VAULT_KEYS": "dev1:cG9zdGlmeXMtZGV2ZWxvcG1lbnQtb25seS1rZXktMzI="}, "POSTIFYS_VAULT_KEYS"),
    ("gateway", {"POSTIFYS_GATEWAY_INTERNAL_KEY": encode_seed(os.urandom(12))}, "POSTIFYS_INTERNAL_SIGNING_KEY"),
    ("identity", {"POSTIFYS_INTERNAL_PUBLIC_KEYS": "gateway:nonsense"}, "POSTIFYS_INTERNAL_PUBLIC_KEYS"),
])
def test_a_misconfigured_production_process_exits_with_one_line_naming_the_setting(
        tmp_path: Path, service: str, spoiled: dict[str, str], variable: str) -> None:
    env = compose_environment(service, {**OPERATOR, **spoiled})
    base = {k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_")}
    finished = subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=ROOT, env={**base, **env},
                              capture_output=True, timeout=60)
    assert finished.returncode == 2
    output = (finished.stdout + finished.stderr).decode()
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert variable in lines[0]
    assert "Traceback" not in output
    for secret in (META_SECRET, OPERATOR["POSTIFYS_TIKTOK_CLIENT_SECRET"], *spoiled.values()):
        assert secret not in output


async def test_a_forged_meta_callback_is_refused_in_production(stack: Stack, tmp_path: Path) -> None:
    """Signed with the sandbox's secrets or an empty one, a callback opens nothing; Instagram Login is not
    configured here, so its (empty) secret is never tried."""
    prefix = f"{stack.prefix}-production-privacy"
    port = free_port()
    env = {**compose_environment("privacy", OPERATOR), "POSTIFYS_HOST": "127.0.0.1",
           "POSTIFYS_PRIVACY_URL": f"http://127.0.0.1:{port}", "POSTIFYS_DATABASE_URL": stack.database_url,
           "POSTIFYS_AMQP_URL": stack.amqp_url, "POSTIFYS_AMQP_PREFIX": prefix}
    url = f"http://127.0.0.1:{port}"
    gateway = Signer("gateway", SEEDS["gateway"], {f"127.0.0.1:{port}": "privacy"})
    try:
        with process("services.privacy", env, tmp_path / "privacy.log") as privacy:
            await up(url, privacy, tmp_path / "privacy.log")
            async with httpx.AsyncClient(base_url=url, auth=gateway.auth()) as http:
                async def callback(secret: str) -> httpx.Response:
                    payload: dict[str, Any] = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()),
                                               "user_id": "forged-" + os.urandom(4).hex()}
                    return await http.post("/privacy/meta/data-deletion",
                                           data={"signed_request": make_signed_request(payload, secret)})

                for forged in ("", "sandbox-meta-secret", "sandbox-instagram-secret"):
                    refused = await callback(forged)
                    assert refused.status_code == 400, (forged, refused.text)
                    assert refused.json()["error"]["code"] == "invalid_signed_request"
                accepted = await callback(META_SECRET)
                assert accepted.status_code == 200, accepted.text
                assert accepted.json()["confirmation_code"]
    finally:
        await delete_topology(stack.amqp_url, prefix, ["privacy"])
