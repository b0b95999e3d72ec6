"""An S3-compatible server for the tests: moto in server mode, on a free loopback port, spoken to over real
HTTP exactly as a store in production would be."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import aioboto3
from moto.server import ThreadedMotoServer

from deploy.system import free_port

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 (moto accepts any)
REGION = "us-east-1"


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def s3_storage_environment(endpoint: str, *, prefix: str = "media") -> dict[str, str]:
    """A new bucket on the server, and the settings that point the media service at it."""
    bucket = f"postifys-{secrets.token_hex(4)}"
    session = aioboto3.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                               region_name=REGION)
    async with session.client("s3", endpoint_url=endpoint) as s3:
        await s3.create_bucket(Bucket=bucket)
    return {"POSTIFYS_MEDIA_STORAGE_URL": f"s3://{bucket}/{prefix}", "POSTIFYS_MEDIA_S3_ENDPOINT_URL": endpoint,
            "POSTIFYS_MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "POSTIFYS_MEDIA_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "POSTIFYS_MEDIA_S3_REGION": REGION}


async def s3_keys(env: dict[str, str]) -> list[str]:
    """Every object in the bucket those settings name."""
    bucket = env["POSTIFYS_MEDIA_STORAGE_URL"].removeprefix("s3://").split("/", 1)[0]
    session = aioboto3.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                               region_name=REGION)
    async with session.client("s3", endpoint_url=env["POSTIFYS_MEDIA_S3_ENDPOINT_URL"]) as s3:
        answer = await s3.list_objects_v2(Bucket=bucket)
        return [o["Key"] for o in answer.get("Contents", [])]
