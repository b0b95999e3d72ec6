"""Production refuses to start on an empty, sandbox or development secret, and each refusal names its setting."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from services.connector.settings import DEVELOPMENT_VAULT_KEYS, ConnectorSettings
from services.gateway.settings import GatewaySettings
from services.identity.settings import IdentitySettings
from services.media.settings import MediaSettings
from services.privacy.settings import PrivacySettings
from services.publisher.settings import PublisherSettings
from services.webhooks.settings import WebhooksSettings
from shared.internal import CALLERS, derived_environment, encode_seed, public_keys_text
from shared.settings import DEVELOPMENT_INTERNAL_SECRET, PostifysSettings, ProductionMisconfigured

SEEDS = {caller: os.urandom(32) for caller in CALLERS}
PUBLIC_KEYS = public_keys_text(SEEDS)
VAULT = f"k1:{base64.b64encode(os.urandom(32)).decode()}"

# A production configuration that passes, per service; each test spoils one setting of it.
COMMON: dict[str, Any] = {
    "env": "production", "public_url": "https://postifys.example", "sandbox": False,
    "meta_app_id": "1234567890", "tiktok_client_key": "awtiktok123", "internal_public_keys": PUBLIC_KEYS,
}
GOOD: dict[type[PostifysSettings], dict[str, Any]] = {
    GatewaySettings: {"internal_signing_key": encode_seed(SEEDS["gateway"])},
    IdentitySettings: {"smtp_url": "smtp://mail.example:587"},
    ConnectorSettings: {"vault_keys": VAULT, "meta_app_secret": "m" * 32, "tiktok_client_secret": "t" * 32,
                        "instagram_app_secret": ""},
    PublisherSettings: {"internal_signing_key": encode_seed(SEEDS["publisher"])},
    WebhooksSettings: {"meta_app_secret": "m" * 32, "tiktok_client_secret": "t" * 32,
                       "meta_webhook_verify_token": "v" * 24},
    PrivacySettings: {"internal_signing_key": encode_seed(SEEDS["privacy"]), "meta_app_secret": "m" * 32,
                      "privacy_hash_key": encode_seed(os.urandom(32)),
                      "instagram_app_secret": ""},
    MediaSettings: {"internal_signing_key": encode_seed(SEEDS["media"]),
                    "media_signing_key": encode_seed(os.urandom(32)), "media_storage_url": "s3://media/postifys"},
}
DEVELOPMENT = derived_environment(DEVELOPMENT_INTERNAL_SECRET, "gateway")


def build(cls: type[PostifysSettings], **spoiled: Any) -> PostifysSettings:
    return cls(**{**COMMON, **GOOD[cls], **spoiled})


@pytest.mark.parametrize("cls", list(GOOD))
def test_a_complete_production_configuration_starts(cls: type[PostifysSettings]) -> None:
    build(cls).check_production()


@pytest.mark.parametrize(("cls", "spoiled", "variable"), [
    (ConnectorSettings, {"meta_app_secret": ""}, "POSTIFYS_META_APP_SECRET"),
    (ConnectorSettings, {"meta_app_secret": "sandbox-meta-secret"}, "POSTIFYS_META_APP_SECRET"),
    (ConnectorSettings, {"tiktok_client_secret": "sandbox-tiktok-secret"}, "POSTIFYS_TIKTOK_CLIENT_SECRET"),
    (ConnectorSettings, {"tiktok_client_secret": "  "}, "POSTIFYS_TIKTOK_CLIENT_SECRET"),
    (ConnectorSettings, {"vault_keys": DEVELOPMENT_VAULT_KEYS}, "POSTIFYS_VAULT_KEYS"),
    (ConnectorSettings, {"vault_keys": f"{DEVELOPMENT_VAULT_KEYS},{VAULT}"}, "POSTIFYS_VAULT_KEYS"),
    (ConnectorSettings, {"vault_keys": "k1:not-base64!"}, "POSTIFYS_VAULT_KEYS"),
    (ConnectorSettings, {"vault_keys": ""}, "POSTIFYS_VAULT_KEYS"),
    (ConnectorSettings, {"instagram_app_id": "17841400000", "instagram_app_secret": ""},
     "POSTIFYS_INSTAGRAM_APP_SECRET"),
    (ConnectorSettings, {"meta_app_id": "sandbox-meta-app"}, "POSTIFYS_META_APP_ID"),
    (WebhooksSettings, {"meta_webhook_verify_token": ""}, "POSTIFYS_META_WEBHOOK_VERIFY_TOKEN"),
    (WebhooksSettings, {"meta_webhook_verify_token": "sandbox-verify-token"}, "POSTIFYS_META_WEBHOOK_VERIFY_TOKEN"),
    (WebhooksSettings, {"meta_app_secret": "sandbox-meta-secret"}, "POSTIFYS_META_APP_SECRET"),
    (WebhooksSettings, {"meta_app_secret": " sandbox-meta-secret "}, "POSTIFYS_META_APP_SECRET"),
    (PrivacySettings, {"privacy_hash_key": None}, "POSTIFYS_PRIVACY_HASH_KEY"),
    (PrivacySettings, {"privacy_hash_key": "short"}, "POSTIFYS_PRIVACY_HASH_KEY"),
    (PrivacySettings, {"meta_app_secret": ""}, "POSTIFYS_META_APP_SECRET"),
    (PrivacySettings, {"instagram_app_id": "17841400000", "instagram_app_secret": "sandbox-instagram-secret"},
     "POSTIFYS_INSTAGRAM_APP_SECRET"),
    (IdentitySettings, {"smtp_url": None}, "POSTIFYS_SMTP_URL"),
    (GatewaySettings, {"public_url": "http://postifys.example"}, "POSTIFYS_PUBLIC_URL"),
    (GatewaySettings, {"sandbox": True}, "POSTIFYS_SANDBOX"),
    (GatewaySettings, {"internal_signing_key": None}, "POSTIFYS_INTERNAL_SIGNING_KEY"),
    (GatewaySettings, {"internal_signing_key": encode_seed(os.urandom(16))}, "POSTIFYS_INTERNAL_SIGNING_KEY"),
    (GatewaySettings, {"internal_signing_key": "short"}, "POSTIFYS_INTERNAL_SIGNING_KEY"),
    (GatewaySettings, {"internal_signing_key": DEVELOPMENT["POSTIFYS_INTERNAL_SIGNING_KEY"]},
     "POSTIFYS_INTERNAL_SIGNING_KEY"),
    (PublisherSettings, {"internal_signing_key": None}, "POSTIFYS_INTERNAL_SIGNING_KEY"),
    (PrivacySettings, {"internal_signing_key": None}, "POSTIFYS_INTERNAL_SIGNING_KEY"),
    (IdentitySettings, {"internal_public_keys": None}, "POSTIFYS_INTERNAL_PUBLIC_KEYS"),
    (IdentitySettings, {"internal_public_keys": "gateway:abc"}, "POSTIFYS_INTERNAL_PUBLIC_KEYS"),
    (IdentitySettings, {"internal_public_keys": DEVELOPMENT["POSTIFYS_INTERNAL_PUBLIC_KEYS"]},
     "POSTIFYS_INTERNAL_PUBLIC_KEYS"),
])
def test_each_refusal_names_its_setting(cls: type[PostifysSettings], spoiled: dict[str, Any], variable: str) -> None:
    with pytest.raises(ProductionMisconfigured) as refused:
        build(cls, **spoiled).check_production()
    assert variable in str(refused.value)
    assert "\n" not in str(refused.value)


DEVELOPMENT_PUBLIC = dict(item.split(":", 1) for item in DEVELOPMENT["POSTIFYS_INTERNAL_PUBLIC_KEYS"].split(","))


@pytest.mark.parametrize("listed", [
    # One development key among real ones lets anyone sign as that caller.
    ",".join(f"{c}:{DEVELOPMENT_PUBLIC[c] if c == 'gateway' else public_keys_text({c: SEEDS[c]}).split(':')[1]}"
             for c in CALLERS),
    ",".join(f"{c}:{DEVELOPMENT_PUBLIC[c]}" for c in reversed(CALLERS)),
    # Two callers under one key could pass for each other.
    public_keys_text({**SEEDS, "operator": SEEDS["gateway"]}),
])
def test_public_keys_that_anyone_could_sign_for_are_refused(listed: str) -> None:
    with pytest.raises(ProductionMisconfigured, match="POSTIFYS_INTERNAL_PUBLIC_KEYS"):
        build(IdentitySettings, internal_public_keys=listed).check_production()


def test_a_callers_own_key_must_be_the_one_the_others_know() -> None:
    other_set = public_keys_text({c: os.urandom(32) for c in CALLERS})
    with pytest.raises(ProductionMisconfigured, match="own key"):
        build(GatewaySettings, internal_public_keys=other_set).check_production()


def test_instagram_login_is_optional_and_its_secret_then_never_tried() -> None:
    settings = build(PrivacySettings, instagram_app_secret="")
    settings.check_production()
    assert not settings.instagram_login_configured
    assert settings.instagram_secret_in_use is None
    configured = build(PrivacySettings, instagram_app_id="17841400000", instagram_app_secret="i" * 32)
    assert configured.instagram_secret_in_use == "i" * 32


def test_services_that_call_no_one_need_no_signing_key() -> None:
    for cls in (IdentitySettings, ConnectorSettings, WebhooksSettings):
        build(cls, internal_signing_key=None).check_production()


def test_development_still_runs_on_the_defaults() -> None:
    for cls in GOOD:
        cls().check_production()
