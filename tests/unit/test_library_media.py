"""The pure parts of posting library media: how a post keeps and shows its media, which body is a library item and
which a URL, how a TikTok video of the library is sent, which signed URLs a revocation stops, and what the sandbox
finds in the bytes it fetched (files made by tests/media_samples.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sandbox.media_check import examine
from services.media import tokens
from services.media.service import MediaService
from services.media.settings import MediaSettings
from services.publisher import pipeline, rules
from services.publisher.api import LibraryMediaIn, PostIn, UrlMediaIn
from shared.contracts.media import MediaProbe
from tests.media_samples import jpeg, mp4, png

PROBE = MediaProbe(kind="video", format="mp4", mime_type="video/mp4", size_bytes=12_000_000, width=1080,
                   height=1920, duration_sec=12.0)
ACCOUNT = str(uuid.uuid4())


def library_video() -> rules.Media:
    return rules.Media(url=None, type="video", alt_text="A clip", probe=PROBE, media_id=uuid.uuid4(), name="c.mp4")


def test_a_library_medium_is_kept_as_json_and_read_back_the_same() -> None:
    medium = library_video()
    stored = medium.stored()
    assert stored == {"media_id": str(medium.media_id), "type": "video", "name": "c.mp4", "alt_text": "A clip",
                      "duration_sec": None, "probe": PROBE.model_dump(mode="json"), "url": None}
    assert rules.Media.from_stored(stored) == medium


def test_a_url_medium_and_a_row_from_before_library_media_read_as_before() -> None:
    old_row = {"url": "https://cdn.test/a.jpg", "type": "image", "alt_text": None, "duration_sec": None,
               "probe": None}
    medium = rules.Media.from_stored(old_row)
    assert medium == rules.Media("https://cdn.test/a.jpg", "image")
    assert medium.shown() == {**old_row, "media_id": None, "name": None, "thumbnail_url": None}


def test_a_library_medium_is_shown_with_its_thumbnail_and_never_a_url() -> None:
    medium = library_video()
    shown = medium.shown()
    assert (shown["url"], shown["thumbnail_url"]) == (None, f"/api/v1/media/{medium.media_id}/thumbnail")


def test_library_ids_are_the_distinct_items_in_order() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    media = [rules.Media(url=None, type="image", media_id=first), rules.Media("https://cdn.test/a.jpg", "image"),
             rules.Media(url=None, type="image", media_id=second), rules.Media(url=None, type="image", media_id=first)]
    assert rules.library_ids(media) == [first, second]


def post(*media: dict[str, Any]) -> PostIn:
    return PostIn.model_validate({"media": list(media), "targets": [{"account_id": ACCOUNT}]})


def test_a_medium_naming_a_media_id_is_a_library_item_and_any_other_a_url() -> None:
    media_id = uuid.uuid4()
    body = post({"media_id": str(media_id), "alt_text": "x"}, {"url": "https://cdn.test/a.jpg", "type": "image"})
    library, url = body.media
    assert isinstance(library, LibraryMediaIn)
    assert library.media_id == media_id
    assert isinstance(url, UrlMediaIn)


@pytest.mark.parametrize("medium", [{"media_id": "not-a-uuid"}, {"media_id": str(uuid.uuid4()), "type": "image"},
                                    {"media_id": str(uuid.uuid4()), "url": "https://cdn.test/a.jpg"},
                                    {"type": "image"}])
def test_a_medium_mixing_both_kinds_or_missing_its_fields_is_refused(medium: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        post(medium)


class NoJournal:
    checkpoint: dict[str, Any] = {}


def job(media: list[rules.Media], **extra: Any) -> pipeline.Job:
    return pipeline.Job(platform="tiktok", kind="tiktok", external_id="x", via_page_id=None, settings={}, caption="",
                        media=media, journal=NoJournal(), http=None, urls={}, fetcher=None,  # type: ignore[arg-type]
                        **extra)


def test_a_tiktok_video_of_the_library_is_uploaded_from_storage_and_never_downloaded() -> None:
    from_library = job([library_video()], verified_prefixes=["https://cdn.test/"])
    assert pipeline.needs_upload(from_library)
    assert not pipeline.downloads_video(from_library)  # no download slot: the bytes come from our own storage
    by_url = job([rules.Media("https://elsewhere.test/v.mp4", "video")], verified_prefixes=["https://cdn.test/"])
    assert pipeline.needs_upload(by_url)
    assert pipeline.downloads_video(by_url)
    pulled = job([rules.Media("https://cdn.test/v.mp4", "video")], verified_prefixes=["https://cdn.test/"])
    assert not pipeline.needs_upload(pulled)


def media_service(now: float) -> MediaService:
    settings = MediaSettings(media_signing_key="k" * 32)  # type: ignore[arg-type]
    return MediaService(None, settings, None, clock=lambda: now)  # type: ignore[arg-type]


def signed_at(service: MediaService, url: str) -> int:
    grant = tokens.verify(service.settings.signing_key(), url.rsplit("/", 1)[1], service.clock())
    assert grant is not None
    return grant.expires_at - service.settings.media_url_lifetime_seconds


def test_a_url_signed_in_the_second_of_a_revocation_counts_as_signed_after_it() -> None:
    revoked = datetime.fromtimestamp(1_800_000_000.4, UTC)
    service = media_service(1_800_000_000.7)
    media_id = uuid.uuid4()
    assert signed_at(service, service.signed_url(media_id).url) == 1_800_000_000  # would read as revoked
    after = signed_at(service, service.signed_url(media_id, revoked_at=revoked).url)
    assert after == 1_800_000_001
    assert after > revoked.timestamp()
    later = media_service(1_800_000_100.0)
    assert signed_at(later, later.signed_url(media_id, revoked_at=revoked).url) == 1_800_000_100


def test_the_sandbox_reads_what_a_file_is_from_its_bytes(tmp_path: Path) -> None:
    picture, logo, clip, text = (tmp_path / n for n in ("a.jpg", "b.jpg", "c.mp4", "d.jpg"))
    picture.write_bytes(jpeg(1080, 1350))
    logo.write_bytes(png(600, 600))  # named .jpg: the bytes decide
    clip.write_bytes(mp4(360, 640, 2, fps=30))
    text.write_bytes(b"not a picture at all" * 100)
    assert (examine(picture).format, examine(picture).width, examine(picture).height) == ("jpeg", 1080, 1350)
    assert (examine(logo).format, examine(logo).content_type) == ("png", "image/png")
    found = examine(clip)
    assert (found.format, found.video_codec, found.width, found.height) == ("mp4", "h264", 360, 640)
    assert found.duration == pytest.approx(2, abs=0.1)
    assert (examine(text).format, examine(text).content_type) == (None, "application/octet-stream")


def test_a_cut_off_jpeg_is_no_image_to_the_sandbox(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg(800, 800)[:2000])
    assert examine(cut).format is None
