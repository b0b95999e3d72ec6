"""The fixes Postifys makes to a file on request, each written as a new file (the original stays as it was):

- `jpeg`: an image as a JPEG (Instagram takes nothing else), upright (its EXIF orientation applied), in sRGB
  (another ICC profile converted), what was transparent on white, an animation's first frame;
- `downscale`: an image shrunk to fit a platform's largest size (Instagram's 1440 px width, TikTok's 1080p…);
- `poster`: a video's frame as a JPEG, upright.

A video is never re-encoded. Pure apart from reading and writing the files it is given; whatever it cannot read
is `Unfixable`."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
from PIL import Image, ImageCms, ImageOps

from services.media.probe import MAX_IMAGE_PIXELS

Fix = Literal["jpeg", "downscale", "poster"]
JPEG_QUALITY = 90
# Formats a downscaled image keeps; any other becomes a JPEG (the platforms take these three at most).
KEPT_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
# Far enough into a video to be past a fade from black, not so far that a short clip has no frame there.
POSTER_AT_SECONDS = 1.0
SRGB = ImageCms.createProfile("sRGB")


class Unfixable(Exception):
    pass


@dataclass(frozen=True)
class Fixed:
    """What was written: its file name's suffix and its size in pixels."""

    suffix: str
    width: int
    height: int


def to_jpeg(source: Path, target: Path) -> Fixed:
    picture = _upright(source)
    _save_jpeg(_srgb(picture), target)
    return Fixed(".jpg", *picture.size)


def downscale(source: Path, target: Path, longest: int, shortest: int | None = None) -> Fixed:
    """Fits the picture (upright) within `longest` px on its longer side and `shortest` on its shorter side, its
    shape kept; one that already fits is `Unfixable`."""
    picture = _upright(source)
    fmt = _format_of(source)
    scale = fitting_scale(picture.size, longest, shortest)
    if scale >= 1:
        raise Unfixable("the image already fits")
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    smaller = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if fmt in KEPT_FORMATS and fmt != "JPEG":
        options = {"quality": JPEG_QUALITY} if fmt == "WEBP" else {"optimize": True}
        icc = picture.info.get("icc_profile")
        smaller.save(target, fmt, **options, **({"icc_profile": icc} if icc else {}))
        return Fixed(KEPT_FORMATS[fmt], *size)
    _save_jpeg(_srgb(smaller), target)
    return Fixed(".jpg", *size)


def fitting_scale(size: tuple[int, int], longest: int, shortest: int | None = None) -> float:
    """How much to scale a picture of `size` by to fit the bounds, at most 1 (never enlarged)."""
    long_side, short_side = max(size), min(size)
    scale = longest / long_side
    if shortest is not None:
        scale = min(scale, shortest / short_side)
    return min(1.0, scale)


def poster_frame(source: Path, at_seconds: float = POSTER_AT_SECONDS) -> Image.Image:
    """The frame at `at_seconds` (or half way through a shorter video), turned as the player turns it."""
    try:
        with av.open(str(source), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            duration = container.duration / av.time_base if container.duration else 0.0
            at = min(at_seconds, duration / 2)
            if at > 0 and stream.time_base:
                container.seek(int(at / stream.time_base), stream=stream, any_frame=False, backward=True)
            frame = next(container.decode(stream))
            picture: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]  # PyAV's stubs lack it
            # Degrees clockwise the player turns it; Pillow's rotate turns counter-clockwise.
            clockwise = round(-(frame.rotation or 0)) % 360
    except (av.FFmpegError, OSError, ValueError, IndexError, StopIteration) as exc:
        raise Unfixable(f"no frame could be read ({type(exc).__name__})") from None
    return picture.rotate(-clockwise, expand=True) if clockwise else picture


def poster(source: Path, target: Path, at_seconds: float = POSTER_AT_SECONDS) -> Fixed:
    picture = poster_frame(source, at_seconds)
    _save_jpeg(picture.convert("RGB"), target)
    return Fixed(".jpg", *picture.size)


def _upright(source: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(source) as opened:
            opened.seek(0)  # an animation's first frame
            upright = ImageOps.exif_transpose(opened)
            upright.load()
            if "icc_profile" in opened.info:
                upright.info["icc_profile"] = opened.info["icc_profile"]
            return upright
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Unfixable(f"not an image Postifys can read ({type(exc).__name__})") from None


def _format_of(source: Path) -> str:
    with Image.open(source) as opened:
        return opened.format or ""


def _srgb(picture: Image.Image) -> Image.Image:
    """RGB in sRGB: another ICC profile's colours converted, transparency shown on white, other modes (CMYK,
    16-bit grey, palettes) converted."""
    icc = picture.info.get("icc_profile")
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        backed = Image.new("RGB", rgba.size, (255, 255, 255))
        backed.paste(rgba, mask=rgba.getchannel("A"))
        picture = backed
    elif picture.mode == "CMYK" and icc:
        picture = _converted(picture, icc, "RGB") or picture.convert("RGB")
        icc = None
    elif picture.mode.startswith("I;16") or picture.mode == "I":
        picture = picture.point(lambda value: value / 256).convert("L").convert("RGB")
    elif picture.mode != "RGB":
        picture = picture.convert("RGB")
    if icc:
        picture = _converted(picture, icc, "RGB") or picture
    return picture


def _converted(picture: Image.Image, icc: bytes, mode: str) -> Image.Image | None:
    """The picture in sRGB from the profile it carries; None when that profile cannot be read (kept as it is)."""
    with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return picture if picture.mode == mode else picture.convert(mode)
        return ImageCms.profileToProfile(picture, source, SRGB, outputMode=mode)
    return None


def _save_jpeg(picture: Image.Image, target: Path) -> None:
    # Saved without the source's EXIF: the orientation is applied, and a copy made for publishing should not carry
    # the phone's location and serial numbers with it.
    picture.save(target, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True,
                 icc_profile=ImageCms.ImageCmsProfile(SRGB).tobytes())
