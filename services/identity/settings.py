from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: ClassVar[str] = "identity"

    # The one service that sends mail. Unset: the development mailbox `make run` starts; production needs it.
    smtp_url: str | None = None
    mail_from: str = "Postifys <no-reply@postifys.local>"

    session_idle_timeout_seconds: int = 30 * 60
    session_absolute_lifetime_seconds: int = 7 * 24 * 3600
    verification_token_lifetime_seconds: int = 24 * 3600
    reset_token_lifetime_seconds: int = 30 * 60
    # OWASP minimum for argon2id; raising any of these rehashes each user at their next sign-in.
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    failed_sign_ins_per_account_per_hour: int = 100
    failed_sign_ins_per_ip_per_hour: int = 1000
    sign_ups_per_ip_per_hour: int = 20
    mails_per_account_per_hour: int = 5
    mail_requests_per_ip_per_hour: int = 50

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.smtp_url:
            problems.append("POSTIFYS_SMTP_URL must name your mail server")
        return problems
