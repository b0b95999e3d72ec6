"""A TikTok post with one photo of the library is no library video: nothing is sent from storage for it."""

from __future__ import annotations

import uuid

from services.publisher import pipeline, rules
from tests.unit.test_library_media import job


def test_one_library_photo_is_not_taken_for_a_library_video() -> None:
    photo = rules.Media(url=None, type="image", alt_text="A shop", media_id=uuid.uuid4(), name="shop.jpg")
    post = job([photo], verified_prefixes=["https://cdn.test/"])
    assert not pipeline.from_library(post)
    assert not pipeline.needs_upload(post)
    assert not pipeline.downloads_video(post)
