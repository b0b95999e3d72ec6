"""`make run`: prepares the database, starts every service, the gateway and the development mailbox,
and stops all of it on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from deploy.system import ROOT, InfrastructureDown, System, check_rabbitmq, prepare_database
from sandbox import base_urls, media_host_environment
from shared.settings import SANDBOX_CREDENTIAL_PREFIX, PostifysSettings

DEVMAIL_SMTP = "smtp://127.0.0.1:8025"


def use_sandbox(settings: PostifysSettings) -> bool:
    """On when asked, or when no real platform credentials are configured."""
    if settings.sandbox is not None:
        return settings.sandbox
    return all(str(value).startswith(SANDBOX_CREDENTIAL_PREFIX)
               for value in (settings.meta_app_id, settings.instagram_app_id, settings.tiktok_client_key))


def main() -> int:
    settings = PostifysSettings()
    try:
        settings.check_production()
        asyncio.run(check_rabbitmq(settings.amqp_url))
        prepare_database(settings.database_url)
    except InfrastructureDown as exc:
        print(f"postifys: {exc}", file=sys.stderr)
        return 1
    env = dict(os.environ)
    if "POSTIFYS_INTERNAL_SECRET" not in env and not settings.is_production:
        env["POSTIFYS_INTERNAL_SECRET"] = secrets.token_urlsafe(32)
    system = System(env=env, log_dir=Path(os.environ.get("POSTIFYS_LOG_DIR", ROOT / ".run" / "logs")))
    if not settings.smtp_url:
        env["POSTIFYS_SMTP_URL"] = DEVMAIL_SMTP
        system.start_one("deploy.devmail")
    sandbox = use_sandbox(settings)
    if sandbox:
        env.update({**base_urls(settings.sandbox_url), "POSTIFYS_SANDBOX_URL": settings.sandbox_url})
        env.update(media_host_environment(settings.sandbox_url))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        names = system.start_all(with_sandbox=sandbox)
        system.wait_ready(timeout=90, names=names)
        print(f"\nPostifys is running at {settings.public_url}  (logs in {system.log_dir})")
        if sandbox:
            print(f"Facebook, Instagram and TikTok are the local sandbox at {settings.sandbox_url} "
                  "(set real credentials and POSTIFYS_SANDBOX=0 for the real platforms)")
        if not settings.smtp_url:
            print(f"Mail goes to the development mailbox: {settings.public_url}/dev/mailbox")
        print("Press Ctrl-C to stop.\n", flush=True)
        while (exited := system.first_exited()) is None:
            time.sleep(0.5)
        print(f"postifys: {exited} stopped unexpectedly; see {system.log_dir}/{exited}.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Postifys…", flush=True)
        return 0
    except (TimeoutError, RuntimeError) as exc:
        print(f"postifys: {exc}", file=sys.stderr)
        return 1
    finally:
        system.stop()


if __name__ == "__main__":
    sys.exit(main())
