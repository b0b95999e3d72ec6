"""The fixes made on request, on files the tests make: any image Postifys reads as an upright sRGB JPEG (what was
transparent on white, the EXIF orientation applied and dropped), an image shrunk to a platform's largest size with
its shape kept, and a video's poster frame as the player shows it; whatever cannot be read or needs no fix is
Unfixable."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from services.media import fixes
from services.media.probe import probe
from tests.media_samples import image, not_media, video


def orientated_jpeg(path: Path, width: int, height: int, orientation: int) -> Path:
    picture = Image.new("RGB", (width, height), (10, 120, 200))
    picture.paste((250, 20, 20), (0, 0, width // 4, height // 4))  # a red corner, to see where it went
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.save(path, "JPEG", quality=95, exif=exif)
    return path


@pytest.mark.parametrize("fmt", ["png", "webp", "gif", "bmp", "tiff", "heic"])
def test_an_image_of_any_format_becomes_a_jpeg_of_the_same_size(tmp_path: Path, fmt: str) -> None:
    source = image(tmp_path / f"in.{fmt}", width=640, height=480, fmt=fmt)
    made = fixes.to_jpeg(source, tmp_path / "out")
    found = probe(tmp_path / "out")
    assert (made.suffix, made.width, made.height) == (".jpg", 640, 480)
    assert (found.format, found.width, found.height, found.colour_space) == ("jpeg", 640, 480, "srgb")


def test_what_was_transparent_shows_white(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(source)
    fixes.to_jpeg(source, tmp_path / "out")
    with Image.open(tmp_path / "out") as fixed:
        assert fixed.mode == "RGB"
        assert all(channel > 245 for channel in fixed.getpixel((50, 50)))  # type: ignore[union-attr]


def test_the_exif_orientation_is_applied_and_not_kept(tmp_path: Path) -> None:
    # Orientation 6: the viewer turns it 90° clockwise, so the 400x200 picture is shown 200x400.
    source = orientated_jpeg(tmp_path / "in.jpg", 400, 200, orientation=6)
    assert probe(source).rotation == 90
    made = fixes.to_jpeg(source, tmp_path / "out")
    assert (made.width, made.height) == (200, 400)
    found = probe(tmp_path / "out")
    assert (found.width, found.height, found.rotation) == (200, 400, 0)
    with Image.open(tmp_path / "out") as fixed:
        assert 0x0112 not in fixed.getexif()
        red, green, _ = fixed.getpixel((190, 10))  # type: ignore[misc]  # the corner turned to the top right
        assert red > 200 > green


def test_a_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    source = image(tmp_path / "in.jpg", width=120, height=80, mode="CMYK")
    fixes.to_jpeg(source, tmp_path / "out")
    with Image.open(tmp_path / "out") as fixed:
        assert (fixed.mode, fixed.size) == ("RGB", (120, 80))


@pytest.mark.parametrize(("size", "longest", "shortest", "fitted"), [
    ((3000, 2000), 1440, None, (1440, 960)),      # Instagram's width
    ((2000, 3000), 1440, None, (960, 1440)),
    ((1080, 2400), 1920, 1080, (864, 1920)),      # TikTok photos: 1080p either way round
    ((4000, 3000), 1920, 1080, (1440, 1080)),
])
def test_an_image_is_shrunk_to_fit_with_its_shape_kept(tmp_path: Path, size: tuple[int, int], longest: int,
                                                         shortest: int | None, fitted: tuple[int, int]) -> None:
    source = image(tmp_path / "in.jpg", width=size[0], height=size[1])
    made = fixes.downscale(source, tmp_path / "out", longest, shortest)
    assert (made.suffix, (made.width, made.height)) == (".jpg", fitted)
    found = probe(tmp_path / "out")
    assert ((found.width, found.height), found.format) == (fitted, "jpeg")


def test_a_png_shrunk_stays_a_png_and_a_gif_becomes_a_jpeg(tmp_path: Path) -> None:
    made = fixes.downscale(image(tmp_path / "in.png", width=2000, height=1000, fmt="png"), tmp_path / "png", 1000)
    assert (made.suffix, made.width, made.height, probe(tmp_path / "png").format) == (".png", 1000, 500, "png")
    made = fixes.downscale(image(tmp_path / "in.gif", width=2000, height=1000, fmt="gif"), tmp_path / "gif", 1000)
    assert (made.suffix, probe(tmp_path / "gif").format) == (".jpg", "jpeg")


def test_an_image_that_fits_needs_no_downscale(tmp_path: Path) -> None:
    assert fixes.fitting_scale((1440, 1800), 1440) == 1440 / 1800
    assert fixes.fitting_scale((1080, 1080), 1440) == 1
    with pytest.raises(fixes.Unfixable):
        fixes.downscale(image(tmp_path / "in.jpg", width=1080, height=1080), tmp_path / "out", 1440)


def test_a_videos_poster_frame_is_a_jpeg_as_the_player_shows_it(tmp_path: Path) -> None:
    # A phone's portrait recording: stored 320x240, turned 90° clockwise by the player.
    source = video(tmp_path / "in.mp4", seconds=2, width=320, height=240, rotation=90, audio=False)
    made = fixes.poster(source, tmp_path / "out")
    found = probe(tmp_path / "out")
    assert (made.suffix, made.width, made.height) == (".jpg", 240, 320)
    assert (found.kind, found.format, found.width, found.height) == ("image", "jpeg", 240, 320)


def test_what_cannot_be_read_is_unfixable(tmp_path: Path) -> None:
    junk = not_media(tmp_path / "junk")
    for fix in (lambda: fixes.to_jpeg(junk, tmp_path / "a"), lambda: fixes.poster(junk, tmp_path / "b"),
                lambda: fixes.downscale(junk, tmp_path / "c", 100)):
        with pytest.raises(fixes.Unfixable):
            fix()
