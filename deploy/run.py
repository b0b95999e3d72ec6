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
from shared.settings import PostifysSettings

DEVMAIL_SMTP = "smtp://127.0.0.1:8025"


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
    names: tuple[str, ...] = ("identity", "connector", "publisher", "webhooks", "privacy", "gateway")
    if not settings.smtp_url:
        env["POSTIFYS_SMTP_URL"] = DEVMAIL_SMTP
        system.start_one("deploy.devmail")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        system.start(names)
        system.wait_ready(timeout=90, names=names)
        print(f"\nPostifys is running at {settings.public_url}  (logs in {system.log_dir})")
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
