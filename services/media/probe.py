"""What a file is, read from the file itself: Pillow for images, PyAV (FFmpeg's libraries, in its wheel) for
videos. Pure apart from reading the file; whatever it cannot read is `Unreadable`, never another exception."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import av
import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from shared.contracts.media import MediaProbe

# Phones' photos: HEIC/HEIF opens in Pillow like any other image (probing, thumbnails, the JPEG fix).
pillow_heif.register_heif_opener()

# Pillow's format names (and PyAV's demuxer names) as Postifys states them.
IMAGE_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "HEIF": "heif", "AVIF": "avif",
                 "MPO": "jpeg", "BMP": "bmp", "TIFF": "tiff"}
IMAGE_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
              "heif": "image/heif", "avif": "image/avif", "bmp": "image/bmp", "tiff": "image/tiff"}
VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska",
              "avi": "video/x-msvideo", "mpegts": "video/mp2t", "3gp": "video/3gpp"}
# FFmpeg's AVColorSpace values that a file may state (2, unspecified, is no answer).
COLOUR_SPACES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                 9: "bt2020nc", 10: "bt2020c", 14: "ictcp"}
# The largest picture Pillow is asked to open: a decompression bomb is refused, not decoded.
MAX_IMAGE_PIXELS = 100_000_000
# Beyond 8K (and TikTok's 4096 px a side): a frame this big is decoded only to be refused.
MAX_VIDEO_PIXELS = 8192 * 8192


class Unreadable(Exception):
    """Neither an image nor a video that Postifys can read."""


def probe(path: Path) -> MediaProbe:
    """Image first (cheap, and FFmpeg would read a JPEG as a one-frame video); a video otherwise."""
    size = path.stat().st_size
    if size == 0:
        raise Unreadable("the file is empty")
    found = probe_image(path, size)
    return found if found is not None else probe_video(path, size)


def probe_image(path: Path, size: int) -> MediaProbe | None:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                picture.verify()
            with Image.open(path) as picture:
                fmt = IMAGE_FORMATS.get(picture.format or "", (picture.format or "").lower())
                rotation = exif_rotation(picture)
                width, height = (picture.height, picture.width) if rotation in (90, 270) else picture.size
                return MediaProbe(kind="image", format=fmt, mime_type=IMAGE_MIME.get(fmt, f"image/{fmt}"),
                                  size_bytes=size, width=width, height=height, rotation=rotation,
                                  colour_space=image_colour_space(picture))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Never handed on to FFmpeg, which would decode the whole picture.
        raise Unreadable(f"a picture of more than {MAX_IMAGE_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        return None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"a damaged image ({type(exc).__name__})") from None


def exif_rotation(picture: Image.Image) -> int:
    """Degrees clockwise a viewer turns the picture for its EXIF orientation."""
    with contextlib.suppress(Exception):
        return {3: 180, 6: 90, 8: 270}.get(int(picture.getexif().get(0x0112, 1)), 0)
    return 0


def image_colour_space(picture: Image.Image) -> str | None:
    icc = picture.info.get("icc_profile")
    if icc:
        with contextlib.suppress(Exception):
            description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip().lower()
            if "srgb" in description:
                return "srgb"
            if "display p3" in description:
                return "display-p3"
            if "adobe rgb" in description:
                return "adobe-rgb"
            return description or "icc"
    return {"CMYK": "cmyk", "L": "grey", "LA": "grey", "1": "grey"}.get(picture.mode)


def container_name(format_name: str, path: Path) -> str:
    """FFmpeg names demuxers by family ("mov,mp4,m4a,3gp,3g2,mj2"); the file's brand decides which it is."""
    names = format_name.split(",")
    if "mp4" in names or "mov" in names:
        return "mov" if _is_quicktime(path) else "mp4"
    if "webm" in names or "matroska" in names:
        return "webm" if path.suffix.lower() == ".webm" or _is_webm(path) else "mkv"
    return names[0]


def _is_quicktime(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    return head[4:8] == b"ftyp" and head[8:12] == b"qt  "


def _is_webm(path: Path) -> bool:
    with path.open("rb") as f:
        return b"webm" in f.read(64)


def probe_video(path: Path, size: int) -> MediaProbe:
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise Unreadable("no picture in it")
            stream = container.streams.video[0]
            context = stream.codec_context
            if container.format.name.endswith("_pipe") or container.format.name == "image2":
                raise Unreadable("a picture that is no image Postifys takes")
            if (context.width or 0) * (context.height or 0) > MAX_VIDEO_PIXELS:
                raise Unreadable(f"a video of more than {MAX_VIDEO_PIXELS:,} pixels a frame")
            rotation = 0
            with contextlib.suppress(Exception):
                first = next(container.decode(stream))
                rotation = round(-(first.rotation or 0)) % 360
            width, height = context.width or stream.width, context.height or stream.height
            if not width or not height:
                raise Unreadable("no picture size")
            if rotation in (90, 270):
                width, height = height, width
            duration = None
            if container.duration:
                duration = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            rate = stream.average_rate or stream.guessed_rate
            fmt = container_name(container.format.name, path)
            audio = container.streams.audio[0] if container.streams.audio else None
            return MediaProbe(
                kind="video", format=fmt, mime_type=VIDEO_MIME.get(fmt, f"video/{fmt}"), size_bytes=size,
                width=width, height=height, rotation=rotation,
                duration_sec=round(duration, 3) if duration is not None else None,
                frame_rate=round(float(rate), 3) if rate else None, video_codec=context.name,
                audio_codec=audio.codec_context.name if audio else None,
                audio_sample_rate=audio.codec_context.sample_rate if audio else None,
                audio_channels=audio.codec_context.channels if audio else None,
                pixel_format=context.pix_fmt, colour_space=COLOUR_SPACES.get(int(context.colorspace or 2)))
    except Unreadable:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise Unreadable(f"not a video FFmpeg can read ({type(exc).__name__})") from None
