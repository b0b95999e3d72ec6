from __future__ import annotations

import json
import logging

import pytest
import structlog

from services.connector.settings import ConnectorSettings
from shared.logging import REDACTED, configure_logging, redact_text
from shared.settings import PostifysSettings, ProductionMisconfigured


class TestRedaction:
    @pytest.mark.parametrize(("text", "secret"), [
        ("GET /cb?code=abc123&state=xyz789", "abc123"),
        ("GET /cb?code=abc123&state=xyz789", "xyz789"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "eyJhbGciOi"),
        ("https://graph.example/me?access_token=EAAB123", "EAAB123"),
        ("refresh_token=rt-1&x=1", "rt-1"),
    ])
    def test_secrets_in_free_text_are_masked(self, text: str, secret: str) -> None:
        assert secret not in redact_text(text)

    def test_ordinary_words_ending_in_code_are_left_alone(self) -> None:
        assert redact_text("reply_code=320 zip code is fine") == "reply_code=320 zip code is fine"

    def test_secret_fields_never_reach_the_log_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging(service="test", json=True)
        structlog.get_logger().info("Signed in", password="hunter2hunter2", session_token="s3cr3t",
                                    headers={"cookie": "postifys_session=abc"}, user_id="u1")
        line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert line["password"] == line["session_token"] == REDACTED
        assert line["headers"]["cookie"] == REDACTED
        assert line["user_id"] == "u1"
        assert line["service"] == "test"
        logging.getLogger().handlers.clear()


class TestProductionSettings:
    def test_production_refuses_development_defaults(self) -> None:
        with pytest.raises(ProductionMisconfigured) as refused:
            PostifysSettings(env="production").check_production()
        for problem in ("POSTIFYS_PUBLIC_URL", "POSTIFYS_INTERNAL_SIGNING_KEY", "POSTIFYS_INTERNAL_PUBLIC_KEYS",
                        "POSTIFYS_META_APP_ID"):
            assert problem in str(refused.value)
        with pytest.raises(ProductionMisconfigured, match="POSTIFYS_VAULT_KEYS"):
            ConnectorSettings(env="production").check_production()

    def test_production_cookie_carries_the_host_prefix(self) -> None:
        assert PostifysSettings(env="production").session_cookie_name.startswith("__Host-")
        assert PostifysSettings().session_cookie_name == "postifys_session"
