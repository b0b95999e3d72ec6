"""Thumbnails of files the tests make with Pillow and PyAV: small, upright JPEGs of images (transparent ones on
white) and a video's poster frame, turned as its player turns it; a file no thumbnail can be made of says so."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from services.media import thumbnails
from tests.media_samples import image, not_media, video


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "JPEG"
    return picture


@pytest.mark.parametrize(("width", "height", "expected"), [(1080, 1350, (256, 320)), (1920, 1080, (320, 180)),
                                                           (200, 100, (200, 100))])
def test_an_image_is_scaled_to_320_on_its_longer_side_at_most(tmp_path: Path, width: int, height: int,
                                                               expected: tuple[int, int]) -> None:
    assert opened(thumbnails.make(image(tmp_path / "p.jpg", width=width, height=height), "image")).size == expected


def test_a_transparent_png_shows_white_where_it_was_clear(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (400, 400), (0, 0, 0, 0)).save(path)
    picture = opened(thumbnails.make(path, "image"))
    assert picture.mode == "RGB"
    assert picture.getpixel((10, 10)) == (255, 255, 255)


def test_an_image_turned_by_exif_is_shown_upright(tmp_path: Path) -> None:
    path = tmp_path / "turned.jpg"
    picture = Image.new("RGB", (600, 300), (10, 200, 10))
    exif = picture.getexif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    picture.save(path, "JPEG", exif=exif)
    assert opened(thumbnails.make(path, "image")).size == (160, 320)


@pytest.mark.parametrize(("width", "height", "rotation", "expected"), [
    (1080, 1920, 0, (180, 320)), (640, 640, 0, (320, 320)), (640, 360, 90, (180, 320))])
def test_a_video_gets_a_poster_frame_as_it_plays(tmp_path: Path, width: int, height: int, rotation: int,
                                                 expected: tuple[int, int]) -> None:
    path = video(tmp_path / "v.mp4", seconds=2, width=width, height=height, fps=25, rotation=rotation, audio=False)
    assert opened(thumbnails.make(path, "video")).size == expected


def test_a_very_short_video_still_has_a_poster(tmp_path: Path) -> None:
    path = video(tmp_path / "blink.mp4", seconds=0.1, width=320, height=240, fps=10, audio=False)
    assert opened(thumbnails.make(path, "video")).size == (320, 240)


@pytest.mark.parametrize("kind", ["image", "video"])
def test_a_file_no_thumbnail_can_be_made_of_says_so(tmp_path: Path, kind: str) -> None:
    with pytest.raises(thumbnails.Unthumbnailable):
        thumbnails.make(not_media(tmp_path / "x.bin"), kind)


def test_the_thumbnail_lies_beside_its_file() -> None:
    assert thumbnails.key_of("users/1/abc") == "users/1/abc.thumb.jpg"
