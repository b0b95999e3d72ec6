"""docker compose can't run here, so its file is checked against the code it starts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from services.gateway.settings import GatewaySettings
from services.identity.settings import IdentitySettings
from services.privacy.settings import PrivacySettings
from shared.settings import PostifysSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "connector", "publisher", "webhooks", "privacy", "gateway")
compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment(name: str) -> dict[str, object]:
    return compose["services"][name]["environment"]  # type: ignore[no-any-return]


def test_every_service_the_gateway_and_the_infrastructure_are_named() -> None:
    assert {*SERVICES, "postgres", "rabbitmq", "migrate", "mailbox"} <= set(compose["services"])


def test_each_postifys_process_runs_a_module_that_exists() -> None:
    for name, spec in compose["services"].items():
        command = spec.get("command")
        if command is None:
            continue
        assert command[:2] == ["python", "-m"], name
        assert importlib.util.find_spec(command[2]) is not None, f"{name}: no module {command[2]}"
    for name in SERVICES:
        assert compose["services"][name]["command"] == ["python", "-m", f"services.{name}"]


def test_each_service_gets_every_variable_it_needs() -> None:
    # Retention periods have defaults that fit every service.
    needed = {f"POSTIFYS_{field.upper()}" for field in PostifysSettings.model_fields
              if not field.startswith("retention_")} - {
        "POSTIFYS_PORT", "POSTIFYS_LOG_LEVEL", "POSTIFYS_AMQP_PREFIX", "POSTIFYS_MAIL_FROM",
        "POSTIFYS_TRUSTED_PROXIES", "POSTIFYS_SANDBOX_URL"}  # defaults fit the compose network; no sandbox there
    for name in SERVICES:
        missing = needed - set(environment(name))
        assert not missing, f"{name} lacks {sorted(missing)}"
    for name in SERVICES[:-1]:
        url = str(environment("gateway")[f"POSTIFYS_{name.upper()}_URL"])
        assert re.fullmatch(rf"http://{name}:80\d\d", url), url
    assert compose["services"]["gateway"]["ports"] == ["8000:8000"]


def test_the_architecture_configuration_table_is_covered() -> None:
    documented = re.findall(r"`(POSTIFYS_[A-Z_]+)`", (ROOT / "README.md").read_text())
    settings = {f"POSTIFYS_{field.upper()}" for cls in (GatewaySettings, IdentitySettings, PrivacySettings)
                for field in cls.model_fields}
    assert documented
    assert set(documented) <= settings | {f"POSTIFYS_{s.upper()}_DATABASE_URL" for s in SERVICES}
    for variable in ("POSTIFYS_ENV", "POSTIFYS_PORT", "POSTIFYS_PUBLIC_URL", "POSTIFYS_DATABASE_URL",
                     "POSTIFYS_AMQP_URL", "POSTIFYS_SMTP_URL", "POSTIFYS_VAULT_KEYS", "POSTIFYS_SANDBOX",
                     "POSTIFYS_META_GRAPH_VERSION", "POSTIFYS_TIKTOK_API_URL"):
        assert variable in settings


def test_the_image_contains_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("shared", "services", "deploy", "sandbox"):
        assert f"COPY {package} {package}" in dockerfile
