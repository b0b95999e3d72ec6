from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.media import tables
from services.media.api import MULTIPART_OVERHEAD, build_routers
from services.media.export import build_export_router
from services.media.handlers import subscriptions
from services.media.publisher_client import PostsInUse
from services.media.retention import keep_purging
from services.media.service import MediaService
from services.media.settings import MediaSettings
from services.media.storage import Storage, storage_from_url
from shared.http.app import MAX_BODY_BYTES
from shared.http.service import create_service_app
from shared.runtime import ServiceRuntime


def storage_for(settings: MediaSettings) -> Storage:
    """Empty settings (as compose passes the unset ones) mean the defaults: the SDK's own endpoint and credentials."""
    secret = settings.media_s3_secret_access_key
    return storage_from_url(settings.media_storage_url, endpoint_url=settings.media_s3_endpoint_url or None,
                            region=settings.media_s3_region or "us-east-1",
                            access_key_id=settings.media_s3_access_key_id or None,
                            secret_access_key=(secret.get_secret_value() or None) if secret else None)


def create_app(settings: MediaSettings | None = None) -> FastAPI:
    settings = settings or MediaSettings()
    runtime = ServiceRuntime(settings, tables.Base.metadata, subscriptions)
    storage = storage_for(settings)
    runtime.on_shutdown(storage.close)
    service = MediaService(runtime, settings, storage)
    runtime.provide(service, storage)
    publisher = httpx.AsyncClient(timeout=httpx.Timeout(10, connect=5), auth=settings.internal_signer().auth())
    runtime.on_shutdown(publisher.aclose)
    keep_purging(runtime, storage, settings, PostsInUse(publisher, settings.publisher_url))

    def max_body(method: str, path: str) -> int:
        """Uploads stream to storage within their own limits; every other body is small."""
        if method == "POST" and path == "/api/v1/media":
            return settings.media_image_max_bytes + MULTIPART_OVERHEAD
        if method == "PATCH" and path.startswith("/api/v1/media/uploads/"):
            return settings.max_upload_bytes
        return MAX_BODY_BYTES

    return create_service_app(runtime, routers=[*build_routers(service), build_export_router(runtime.sessionmaker)],
                              max_body=max_body)
