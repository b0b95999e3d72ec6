"""The data export's parts as shared models: what each service answers is parsed into its part's model and the
document is composed from them, every value as the service wrote it (the deletion requests' and platform events'
times as they always were); a field no model names never reaches the document; a part that is not its model makes
the export unavailable rather than incomplete. The posts keep the shape of GET /posts/{id}."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from services.privacy.export import DataExport, ExportUnavailable, gather_export
from services.publisher.api import PostOut, TargetOut, TimelineEntry
from shared.contracts.export import (
    AccountEventExport,
    AccountExport,
    ConnectionExport,
    ConnectorExport,
    DeletionRequestExport,
    IdentityExport,
    MediaExport,
    MediaItemExport,
    MediaUploadExport,
    PlatformDeliveryExport,
    PostExport,
    ProfileExport,
    PublisherExport,
    SessionExport,
    SignInExport,
    TargetExport,
    TimelineEntryExport,
    WebhooksExport,
)
from shared.contracts.media import MediaProbe
from shared.settings import PostifysSettings

SETTINGS = PostifysSettings()
USER = uuid.UUID("0b7d6a6e-4f1c-4c59-9d7e-1f0d3a8c2b11")
AT = datetime(2031, 3, 14, 12, 0, 5, 123456, tzinfo=UTC)
ON_THE_SECOND = datetime(2031, 3, 14, 12, 0, 5, tzinfo=UTC)


def identity() -> IdentityExport:
    return IdentityExport(
        profile=ProfileExport(id=USER, name="Zoë Test", email="zoe@example.com", email_verified=True,
                              email_verified_at=AT, password_changed_at=ON_THE_SECOND, created_at=ON_THE_SECOND,
                              timezone="Europe/Paris"),
        sessions=[SessionExport(id=uuid.uuid4(), created_at=AT, last_seen_at=AT, expires_at=AT, revoked_at=None,
                                ip="203.0.113.7", user_agent="Browser/1.0"),
                  SessionExport(id=uuid.uuid4(), created_at=AT, last_seen_at=AT, expires_at=AT, revoked_at=AT,
                                ip=None, user_agent=None)],
        sign_in_history=[SignInExport(at=AT, ip="2001:db8::1", user_agent=None, outcome="failed")])


def connector() -> ConnectorExport:
    connection = ConnectionExport(id=uuid.uuid4(), provider="facebook", external_user_id="9001", name=None,
                                  granted_scopes=["pages_show_list"], declined_scopes=[], created_at=AT,
                                  updated_at=ON_THE_SECOND)
    account = AccountExport(
        id=uuid.uuid4(), connection_id=connection.id, platform="instagram", kind="instagram", external_id="1784",
        name="Bakery", username="bakery", avatar_url=None, category=None, tasks=[], via_page_id="1029",
        status="disconnected", status_reason="revoked", unpublishable_reason="disconnected", connected_at=AT,
        updated_at=AT, disconnected_at=ON_THE_SECOND,
        events=[AccountEventExport(at=AT, kind="connected", detail=None),
                AccountEventExport(at=ON_THE_SECOND, kind="disconnected", detail="The person removed it.")])
    return ConnectorExport(connections=[connection], accounts=[account])


def publisher() -> PublisherExport:
    timeline = [TimelineEntryExport(at=AT, step="published", status="published", request="POST /1029/photos",
                                    response_code="200", platform_ids={"remote_id": "1029_77", "ids": [1, 2.5]},
                                    error_class=None, message=None)]
    target = TargetExport(id=uuid.uuid4(), account_id=uuid.uuid4(), platform="facebook", kind="image",
                          status="published", settings={"published": True}, caption=None, due_at=AT, attempts=1,
                          remote_id="1029_77", permalink="https://facebook.com/1029_77", error_class=None,
                          error_message=None, needs_review=False, finished_at=ON_THE_SECOND, timeline=timeline)
    return PublisherExport(posts=[PostExport(
        id=uuid.uuid4(), caption="Fresh bread at 7 🥖",
        media=[{"url": "https://example.com/a.mp4", "type": "video", "alt_text": None, "duration_sec": 12.0}],
        scheduled_at=None, timezone=None, draft=False, status="completed", due_at=AT, created_at=AT,
        updated_at=ON_THE_SECOND, targets=[target])])


def media() -> MediaExport:
    probe = MediaProbe(kind="video", format="mp4", mime_type="video/mp4", size_bytes=18_000_000, width=1080,
                       height=1920, duration_sec=12.5, frame_rate=30.0, video_codec="h264", audio_codec="aac")
    return MediaExport(
        media=[MediaItemExport(id=uuid.uuid4(), name="bakery tour.mp4", kind="video", size_bytes=18_000_000,
                               sha256="9f" * 32, probe=probe, created_at=AT, last_used_at=ON_THE_SECOND)],
        media_uploads=[MediaUploadExport(id=uuid.uuid4(), name="long take.mov", kind="video",
                                         declared_type="video/quicktime", size_bytes=500_000_000,
                                         received_bytes=12_000_000, created_at=AT, updated_at=AT)])


# As the webhooks service has always written it.
WEBHOOKS_ANSWER = {"platform_events": [
    {"received_at": "2031-03-14T12:00:05.123456+00:00", "provider": "meta",
     "events": [{"type": "feed", "object_id": "1029", "value": {"message": "hello", "created_time": 1790000000}}]},
    {"received_at": "2031-03-14T12:00:05+00:00", "provider": "meta", "events": []},
]}


class Services:
    """The five services' internal export routes, answering what each would."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {
            "identity": identity().model_dump(mode="json"), "connector": connector().model_dump(mode="json"),
            "publisher": publisher().model_dump(mode="json"), "media": media().model_dump(mode="json"),
            "webhooks": WEBHOOKS_ANSWER}
        self.subjects: list[str] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        service = next(s for s, url in SETTINGS.service_urls().items() if str(request.url).startswith(url))
        if service == "webhooks":
            assert request.url.path == "/internal/deliveries/about"
            self.subjects = request.url.params.get_list("subject")
        else:
            assert request.url.path == f"/internal/users/{USER}/export"
        return httpx.Response(200, content=json.dumps(self.answers[service]).encode())


async def exported(services: Services, deletion_requests: list[DeletionRequestExport] | None = None) -> Any:
    async def deletion_requests_for(user_id: uuid.UUID) -> list[DeletionRequestExport]:
        assert user_id == USER
        return deletion_requests or []

    async with httpx.AsyncClient(transport=httpx.MockTransport(services.answer)) as http:
        document = await gather_export(http, SETTINGS, USER, deletion_requests_for)
    assert isinstance(document, DataExport)
    return json.loads(document.model_dump_json())


async def test_the_document_holds_each_part_as_its_service_wrote_it() -> None:
    services = Services()
    document = await exported(services)
    answers = services.answers
    assert list(document) == ["exported_at", "profile", "sessions", "sign_in_history", "connections", "accounts",
                              "posts", "media", "media_uploads", "platform_events", "deletion_requests"]
    for service, model in (("identity", IdentityExport), ("connector", ConnectorExport),
                           ("publisher", PublisherExport), ("media", MediaExport), ("webhooks", WebhooksExport)):
        for key in model.model_fields:
            assert document[key] == answers[service][key], key
            assert json.dumps(document[key]) == json.dumps(answers[service][key]), key  # key order too
    assert document["profile"]["created_at"] == "2031-03-14T12:00:05Z"
    assert document["deletion_requests"] == []
    assert services.subjects == ["1029", "1784", "9001"]


def test_webhooks_writes_the_platform_events_as_it_always_did() -> None:
    answer = WebhooksExport(platform_events=[PlatformDeliveryExport(
        received_at=AT, provider="meta", events=WEBHOOKS_ANSWER["platform_events"][0]["events"])])
    assert json.loads(answer.model_dump_json())["platform_events"][0] == WEBHOOKS_ANSWER["platform_events"][0]


async def test_deletion_requests_are_written_as_they_always_were() -> None:
    request_id = uuid.uuid4()
    rows = [SimpleNamespace(id=request_id, confirmation_code="DEL-7F3A", scope="connections", status="completed",
                            requested_at=ON_THE_SECOND, completed_at=AT, last_sent_at=AT, account_ids=["x"]),
            SimpleNamespace(id=request_id, confirmation_code="DEL-8B1C", scope="account", status="pending",
                            requested_at=AT, completed_at=None)]
    requests = [DeletionRequestExport.model_validate(r, from_attributes=True) for r in rows]
    document = await exported(Services(), requests)
    assert document["deletion_requests"] == [
        {"id": str(request_id), "confirmation_code": "DEL-7F3A", "scope": "connections", "status": "completed",
         "requested_at": "2031-03-14T12:00:05+00:00", "completed_at": "2031-03-14T12:00:05.123456+00:00"},
        {"id": str(request_id), "confirmation_code": "DEL-8B1C", "scope": "account", "status": "pending",
         "requested_at": "2031-03-14T12:00:05.123456+00:00", "completed_at": None}]


async def test_a_field_no_model_names_never_reaches_the_document() -> None:
    services = Services()
    services.answers["connector"]["accounts"][0]["access_token"] = "EAAB-not-for-the-export"
    services.answers["identity"]["profile"]["password_hash"] = "$argon2id$v=19$not-for-the-export"
    services.answers["publisher"]["refresh_token"] = "rt-not-for-the-export"
    services.answers["media"]["media"][0]["url"] = "https://postifys.example/media/files/v1.not-for-the-export"
    services.answers["media"]["media"][0]["storage_key"] = "users/not-for-the-export"
    document = await exported(services)
    assert "not-for-the-export" not in json.dumps(document)


@pytest.mark.parametrize(("service", "spoil"), [
    ("identity", lambda answer: answer.pop("profile")),
    ("connector", lambda answer: answer["accounts"][0].update(connected_at="yesterday")),
    ("publisher", lambda answer: answer["posts"][0]["targets"][0].pop("timeline")),
    ("media", lambda answer: answer["media"][0]["probe"].update(width="wide")),
    ("webhooks", lambda answer: answer.update(platform_events={"not": "a list"})),
])
async def test_a_part_that_is_not_its_model_makes_the_export_unavailable(service: str, spoil: Any) -> None:
    services = Services()
    spoil(services.answers[service])
    with pytest.raises(ExportUnavailable) as raised:
        await exported(services)
    assert raised.value.status_code == 503
    assert raised.value.details == {"service": service}


@pytest.mark.parametrize(("exported_as", "shown_as"), [
    (PostExport, PostOut), (TargetExport, TargetOut), (TimelineEntryExport, TimelineEntry)])
def test_a_post_is_exported_with_the_fields_get_post_shows(exported_as: type[BaseModel],
                                                           shown_as: type[BaseModel]) -> None:
    assert list(exported_as.model_fields) == list(shown_as.model_fields)
