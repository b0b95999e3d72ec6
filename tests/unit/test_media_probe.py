"""What the probe reads from files the tests make with PyAV and Pillow, the signed URL tokens, and the byte
ranges the file route serves: pure logic, on local files."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PIL import Image

from services.media import tokens
from services.media.api import RangeNotSatisfiable, byte_range
from services.media.probe import Unreadable, probe, probe_video
from tests.media_samples import image, not_media, video


class TestImages:
    @pytest.mark.parametrize(("fmt", "mime"), [("jpeg", "image/jpeg"), ("png", "image/png"),
                                               ("webp", "image/webp"), ("gif", "image/gif"),
                                               ("heic", "image/heif")])
    def test_format_size_and_type(self, tmp_path: Path, fmt: str, mime: str) -> None:
        found = probe(image(tmp_path / f"p.{fmt}", width=1080, height=1350, fmt=fmt))
        assert (found.kind, found.format, found.mime_type) == ("image", mime.removeprefix("image/"), mime)
        assert (found.width, found.height, found.aspect_ratio) == (1080, 1350, 0.8)
        assert found.duration_sec is None
        assert found.size_bytes == (tmp_path / f"p.{fmt}").stat().st_size

    def test_an_icc_profile_names_the_colour_space(self, tmp_path: Path) -> None:
        assert probe(image(tmp_path / "p.jpg", srgb_profile=True)).colour_space == "srgb"
        assert probe(image(tmp_path / "q.jpg", mode="CMYK")).colour_space == "cmyk"
        assert probe(image(tmp_path / "r.png", fmt="png")).colour_space is None


class TestVideos:
    def test_container_codecs_duration_rate_and_size(self, tmp_path: Path) -> None:
        found = probe(video(tmp_path / "v.mp4", seconds=3, width=1080, height=1920, fps=30))
        assert (found.kind, found.format, found.mime_type) == ("video", "mp4", "video/mp4")
        assert (found.width, found.height, found.rotation) == (1080, 1920, 0)
        assert found.duration_sec == pytest.approx(3, abs=0.05)
        assert found.frame_rate == 30
        assert (found.video_codec, found.pixel_format) == ("h264", "yuv420p")
        assert (found.audio_codec, found.audio_sample_rate, found.audio_channels) == ("aac", 44100, 2)

    def test_a_rotated_recording_reports_its_displayed_dimensions(self, tmp_path: Path) -> None:
        found = probe(video(tmp_path / "v.mp4", width=320, height=240, rotation=90))
        assert (found.width, found.height, found.rotation) == (240, 320, 90)
        upside_down = probe(video(tmp_path / "w.mp4", width=320, height=240, rotation=180))
        assert (upside_down.width, upside_down.height, upside_down.rotation) == (320, 240, 180)

    def test_quicktime_and_webm_and_a_silent_video(self, tmp_path: Path) -> None:
        mov = probe(video(tmp_path / "v.mov", audio=False, fps=24))
        assert (mov.format, mov.mime_type, mov.audio_codec, mov.frame_rate) == ("mov", "video/quicktime", None, 24)
        webm = probe(video(tmp_path / "v.webm", codec="vp9", audio=False, seconds=0.5))
        assert (webm.format, webm.video_codec) == ("webm", "vp9")


class TestUnreadable:
    def test_a_file_that_is_neither_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(Unreadable):
            probe(not_media(tmp_path / "x.pdf"))

    def test_an_empty_file_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "e").write_bytes(b"")
        with pytest.raises(Unreadable):
            probe(tmp_path / "e")

    def test_a_truncated_image_is_refused(self, tmp_path: Path) -> None:
        path = image(tmp_path / "p.png", fmt="png")
        path.write_bytes(path.read_bytes()[:200])
        with pytest.raises(Unreadable):
            probe(path)

    def test_a_picture_too_big_to_decode_is_refused_and_never_handed_to_ffmpeg(self, tmp_path: Path) -> None:
        path = tmp_path / "bomb.png"
        Image.new("1", (10_001, 10_001)).save(path)  # a few kilobytes that would decode to 100 million pixels
        with pytest.raises(Unreadable, match="more than 100,000,000 pixels"):
            probe(path)

    def test_a_still_image_ffmpeg_could_open_is_no_video(self, tmp_path: Path) -> None:
        path = image(tmp_path / "p.png", fmt="png")
        with pytest.raises(Unreadable, match="no image Postifys takes"):
            probe_video(path, path.stat().st_size)


class TestTokens:
    KEY = b"k" * 32

    def test_a_token_grants_its_item_until_it_expires(self) -> None:
        media_id = uuid.uuid4()
        token = tokens.sign(self.KEY, media_id, 1000)
        assert tokens.verify(self.KEY, token, 999) == tokens.Granted(media_id, 1000)
        with pytest.raises(tokens.Expired):
            tokens.verify(self.KEY, token, 1000)

    def test_a_changed_token_or_another_key_grants_nothing(self) -> None:
        token = tokens.sign(self.KEY, uuid.uuid4(), 1000)
        later = token.replace(".1000.", ".9999.")
        assert tokens.verify(self.KEY, later, 0) is None
        assert tokens.verify(b"other" * 8, token, 0) is None
        assert tokens.verify(self.KEY, token[:-1] + ("A" if token[-1] != "A" else "B"), 0) is None
        assert tokens.verify(self.KEY, "not a token", 0) is None


class TestByteRanges:
    @pytest.mark.parametrize(("header", "expected"), [
        (None, None), ("bytes=0-99", (0, 100)), ("bytes=100-", (100, 1000)), ("bytes=-10", (990, 1000)),
        ("bytes=900-5000", (900, 1000)), ("bytes=0-1,5-6", None), ("items=0-1", None), ("bytes=-", None)])
    def test_the_range_asked_for(self, header: str | None, expected: tuple[int, int] | None) -> None:
        assert byte_range(header, 1000) == expected

    @pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2"])
    def test_a_range_outside_the_file_is_refused(self, header: str) -> None:
        with pytest.raises(RangeNotSatisfiable) as refused:
            byte_range(header, 1000)
        assert refused.value.headers == {"Content-Range": "bytes */1000"}
