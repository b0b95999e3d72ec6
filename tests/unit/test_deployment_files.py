"""docker compose can't run here, so its file is checked against the code it starts: a production deployment
where each service receives only the secrets it uses."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import yaml
from pydantic import SecretStr

from services.connector.settings import ConnectorSettings
from services.gateway.settings import GatewaySettings
from services.identity.settings import IdentitySettings
from services.media.settings import MediaSettings
from services.privacy.settings import PrivacySettings
from services.publisher.settings import PublisherSettings
from services.webhooks.settings import WebhooksSettings
from shared.internal import CALLERS
from shared.settings import PostifysSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[PostifysSettings]] = {
    "identity": IdentitySettings, "connector": ConnectorSettings, "publisher": PublisherSettings,
    "webhooks": WebhooksSettings, "privacy": PrivacySettings, "media": MediaSettings, "gateway": GatewaySettings}
SERVICES = tuple(SETTINGS)
compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
# Everything a process must not see unless it uses it. The callers' public keys are not secret.
SECRETS = {"POSTIFYS_VAULT_KEYS", "POSTIFYS_META_APP_SECRET", "POSTIFYS_INSTAGRAM_APP_SECRET",
           "POSTIFYS_TIKTOK_CLIENT_SECRET", "POSTIFYS_META_WEBHOOK_VERIFY_TOKEN", "POSTIFYS_SMTP_URL",
           "POSTIFYS_INTERNAL_SIGNING_KEY", "POSTIFYS_INTERNAL_SECRET", "POSTIFYS_PRIVACY_HASH_KEY",
           "POSTIFYS_MEDIA_SIGNING_KEY", "POSTIFYS_MEDIA_S3_SECRET_ACCESS_KEY"}


def environment(name: str) -> dict[str, object]:
    return compose["services"][name]["environment"]  # type: ignore[no-any-return]


def secret_variables(cls: type[PostifysSettings]) -> set[str]:
    return {f"POSTIFYS_{name.upper()}" for name, field in cls.model_fields.items()
            if field.annotation is not None and ("SecretStr" in str(field.annotation) or field.annotation is SecretStr
                                                 or name == "smtp_url")} - {"POSTIFYS_INTERNAL_SECRET"}


def test_every_service_the_gateway_and_the_infrastructure_are_named() -> None:
    assert {*SERVICES, "postgres", "rabbitmq", "migrate"} <= set(compose["services"])
    assert "mailbox" not in compose["services"]


def test_each_postifys_process_runs_a_module_that_exists() -> None:
    for name, spec in compose["services"].items():
        command = spec.get("command")
        if command is None:
            continue
        assert command[:2] == ["python", "-m"], name
        assert importlib.util.find_spec(command[2]) is not None, f"{name}: no module {command[2]}"
    for name in SERVICES:
        assert compose["services"][name]["command"] == ["python", "-m", f"services.{name}"]


def test_it_is_a_production_deployment_behind_a_proxy() -> None:
    for name in SERVICES:
        assert environment(name)["POSTIFYS_ENV"] == "${POSTIFYS_ENV:-production}"
        assert environment(name)["POSTIFYS_SANDBOX"] == "0"
    assert compose["services"]["gateway"]["ports"] == ["${POSTIFYS_GATEWAY_BIND:-127.0.0.1}:8000:8000"]
    for name in SERVICES:
        assert "ports" not in compose["services"][name] or name == "gateway"


def test_the_gateway_trusts_the_address_the_proxied_requests_come_from() -> None:
    """Docker's port publishing hands every request over from the network's gateway: trusted by default, or every
    per-person limit would count everyone together."""
    network = compose["networks"]["default"]["ipam"]["config"][0]
    given = str(environment("gateway")["POSTIFYS_TRUSTED_PROXIES"])
    default = re.fullmatch(r"\$\{POSTIFYS_TRUSTED_PROXIES:-(.*)\}", given)
    assert default is not None
    assert json.loads(default.group(1)) == [network["gateway"]]


def test_no_secret_has_a_placeholder_value() -> None:
    """A secret is either required from the operator (`${VAR:?…}`) or empty by default (optional Instagram)."""
    text = (ROOT / "docker-compose.yml").read_text()
    for name in SERVICES:
        for variable, value in environment(name).items():
            if variable in SECRETS or "PASSWORD" in variable or variable.endswith("_URL") and "@" in str(value):
                assert re.search(r"\$\{[A-Z_]+:\?", str(value)) or str(value).endswith(":-}"), (name, variable)
    assert "change-me" not in text
    assert "POSTIFYS_DEVMAIL" not in text


def test_each_service_gets_exactly_the_secrets_it_uses() -> None:
    for name, cls in SETTINGS.items():
        given = set(environment(name)) & SECRETS
        needed = secret_variables(cls)
        if name not in CALLERS:
            needed -= {"POSTIFYS_INTERNAL_SIGNING_KEY"}
        assert given == needed, f"{name}: given {sorted(given)}, uses {sorted(needed)}"


def test_each_service_gets_every_address_it_needs() -> None:
    addresses = {"POSTIFYS_PUBLIC_URL", "POSTIFYS_DATABASE_URL", "POSTIFYS_AMQP_URL", "POSTIFYS_INTERNAL_PUBLIC_KEYS",
                 *(f"POSTIFYS_{s.upper()}_URL" for s in SERVICES[:-1])}
    for name in SERVICES:
        assert addresses <= set(environment(name)), name
    for name in SERVICES[:-1]:
        url = str(environment("gateway")[f"POSTIFYS_{name.upper()}_URL"])
        assert re.fullmatch(rf"http://{name}:80\d\d", url), url


def test_the_vault_keys_are_only_in_the_connector() -> None:
    """What a grep shows: the compose file and the settings of every service."""
    compose_lines = [line for line in (ROOT / "docker-compose.yml").read_text().splitlines()
                     if "VAULT_KEYS" in line and not line.lstrip().startswith("#")]
    assert len(compose_lines) == 1
    assert compose_lines[0].strip().startswith("POSTIFYS_VAULT_KEYS:")
    assert "POSTIFYS_VAULT_KEYS" in environment("connector")
    settings_files = [ROOT / "shared" / "settings.py", *sorted((ROOT / "services").glob("*/settings.py"))]
    holders = [path.relative_to(ROOT).as_posix() for path in settings_files if re.search(
        r"vault", path.read_text(), re.IGNORECASE)]
    assert holders == ["services/connector/settings.py"]
    for name, cls in SETTINGS.items():
        assert ("vault_keys" in cls.model_fields) == (name == "connector")


def test_the_configuration_table_is_covered() -> None:
    documented = re.findall(r"`(POSTIFYS_[A-Z_]+)`", (ROOT / "README.md").read_text())
    settings = {f"POSTIFYS_{field.upper()}" for cls in SETTINGS.values() for field in cls.model_fields}
    assert documented
    extra = {f"POSTIFYS_{s.upper()}_DATABASE_URL" for s in SERVICES} | {
        f"POSTIFYS_{c.upper()}_INTERNAL_KEY" for c in ("gateway", "publisher", "privacy", "media", "operator")}
    assert set(documented) <= settings | extra, sorted(set(documented) - settings - extra)
    for variable in ("POSTIFYS_ENV", "POSTIFYS_PORT", "POSTIFYS_PUBLIC_URL", "POSTIFYS_DATABASE_URL",
                     "POSTIFYS_AMQP_URL", "POSTIFYS_SMTP_URL", "POSTIFYS_VAULT_KEYS", "POSTIFYS_SANDBOX",
                     "POSTIFYS_META_GRAPH_VERSION", "POSTIFYS_TIKTOK_API_URL"):
        assert variable in settings


def test_the_image_contains_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("shared", "services", "deploy", "sandbox"):
        assert f"COPY {package} {package}" in dockerfile
