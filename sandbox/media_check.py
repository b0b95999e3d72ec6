"""What a platform finds in bytes it fetched or was sent, read from the bytes themselves the way Meta's and TikTok's
media pipelines do: Pillow decodes an image whole (a truncated or mislabelled file is found out), PyAV opens a
video's container and reads its first video stream. Independent of Postifys' own probe: the sandbox checks what
Postifys sends, so it must not share its reading of it. Pure apart from reading the file."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from sandbox.media import sniff_video

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
                 "bmp": "image/bmp", "tiff": "image/tiff", "mp4": "video/mp4", "mov": "video/quicktime",
                 "webm": "video/webm"}
NOT_MEDIA = "application/octet-stream"
MAX_IMAGE_PIXELS = 100_000_000


@dataclass(frozen=True)
class Examined:
    """`format` None: neither an image nor a video the platform can read."""

    format: str | None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    video_codec: str | None = None

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format or "", NOT_MEDIA)

    def describe(self) -> dict[str, object]:
        return {"format": self.format, "width": self.width, "height": self.height, "duration": self.duration,
                "video_codec": self.video_codec}


def examine(path: Path) -> Examined:
    return _image(path) or _video(path) or Examined(None)


def _image(path: Path) -> Examined | None:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                fmt = (picture.format or "").lower()
                picture.load()  # the whole picture, so a cut-off file is refused like the platforms refuse it
                return Examined(fmt, picture.width, picture.height)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    except (OSError, SyntaxError, ValueError):
        return Examined(None)


def _video(path: Path) -> Examined | None:
    with path.open("rb") as file:
        sniffed = sniff_video(file.read(64))
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.video), None)
            if stream is None:
                return None
            duration = (float(container.duration) / av.time_base if container.duration else
                        float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None)
            frame = None
            with contextlib.suppress(av.FFmpegError, StopIteration):
                frame = next(container.decode(stream))  # a container with no decodable picture is no video
            if frame is None:
                return None
            fmt = sniffed.format or container.format.name.split(",")[0]
            return Examined(fmt, stream.codec_context.width, stream.codec_context.height, duration,
                            stream.codec_context.name)
    except (av.FFmpegError, OSError, ValueError):
        return None
