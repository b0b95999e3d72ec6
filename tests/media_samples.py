"""Media files made on the spot for the tests (never downloaded): images of a given format and size, and videos of
a given duration, size, frame rate, codec and rotation, made with Pillow and PyAV. Each function writes one file and
answers its path, so a test can make exactly the file that breaks (or meets) one rule."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pillow_heif
from PIL import Image, ImageCms, ImageDraw

pillow_heif.register_heif_opener()  # phones' HEIC photos, as the media service reads them
IMAGE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
                 "heic": "HEIF"}
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
FAST_ENCODING = {"h264": {"preset": "ultrafast"}, "hevc": {"preset": "ultrafast", "x265-params": "log-level=none"},
                 "vp8": {"deadline": "realtime", "cpu-used": "8"}, "vp9": {"deadline": "realtime", "cpu-used": "8"}}


def image(path: Path, *, width: int = 1080, height: int = 1350, fmt: str = "jpeg", mode: str = "RGB",
          srgb_profile: bool = False, quality: int = 90) -> Path:
    """A picture with some structure in it (so encoders do not shrink it to nothing): `fmt` is jpeg, png, webp
    or gif; `srgb_profile` embeds an sRGB ICC profile."""
    picture = Image.new("RGB", (width, height), (40, 90, 160))
    draw = ImageDraw.Draw(picture)
    for i in range(0, max(width, height), max(8, min(width, height) // 12)):
        draw.line([(i, 0), (0, i)], fill=((i * 7) % 255, (i * 3) % 255, 200), width=3)
    if mode != "RGB":
        picture = picture.convert(mode)
    options: dict[str, object] = {}
    if fmt in ("jpeg", "webp"):
        options["quality"] = quality
    if srgb_profile:
        options["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture.save(path, IMAGE_FORMATS[fmt], **options)
    return path


def image_bytes(*, width: int = 64, height: int = 64, fmt: str = "jpeg") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, IMAGE_FORMATS[fmt])
    return out.getvalue()


def video(path: Path, *, seconds: float = 2.0, width: int = 320, height: int = 240, fps: int = 30,
          codec: str = "h264", audio: bool = True, sample_rate: int = 44100, target_bytes: int | None = None,
          container: str | None = None, pixel_format: str = "yuv420p", rotation: int = 0,
          audio_codec: str = "aac", channels: int = 2) -> Path:
    """A video of `seconds` at `fps`, `width`×`height`. With `target_bytes`, the picture is noise encoded at the
    bit rate that makes a file of roughly that size (x264 overshoots by up to a quarter): big files for the upload
    tests, made in seconds. `codec` is FFmpeg's name (h264, hevc, mpeg4, vp9); the container follows the file's
    suffix. `rotation` is the degrees clockwise a player turns the picture (a phone's portrait recording: 90).
    The sound, with `audio`, is silence in `audio_codec` (aac, mp3, opus) on `channels` (1, 2 or 6)."""
    encoders = {"h264": "libx264", "hevc": "libx265", "vp8": "libvpx", "vp9": "libvpx-vp9", "mp3": "libmp3lame",
                "opus": "libopus"}
    layout = CHANNEL_LAYOUTS[channels]
    frames = max(1, round(seconds * fps))
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(encoders.get(codec, codec), rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        if rotation:
            stream.set_display_rotation((360 - rotation) % 360)  # PyAV counts counter-clockwise
        if target_bytes is not None:
            stream.bit_rate = int(target_bytes * 8 / seconds)
        stream.options = FAST_ENCODING.get(codec, {})
        sound = None
        if audio:
            sound = output.add_stream(encoders.get(audio_codec, audio_codec), rate=sample_rate)
            sound.layout = layout  # type: ignore[union-attr]
        for index in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                if target_bytes is not None:
                    plane.update(os.urandom(plane.buffer_size))
                else:
                    plane.update(bytes([(index * 5 + plane.line_size) % 256]) * plane.buffer_size)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            output.mux(stream.encode(frame.reformat(format=pixel_format) if pixel_format != "yuv420p" else frame))
        output.mux(stream.encode())
        if sound is not None:
            samples_per_frame = 1024
            for index in range(int(seconds * sample_rate) // samples_per_frame):
                chunk = av.AudioFrame(format="fltp", layout=layout, samples=samples_per_frame)
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                chunk.sample_rate = sample_rate
                chunk.pts = index * samples_per_frame
                output.mux(sound.encode(chunk))
            output.mux(sound.encode())
    return path


def not_media(path: Path, size: int = 4096) -> Path:
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(size))
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


# --- the same, as bytes: for tests that check a file without keeping it -------------------------------------

def jpeg(width: int, height: int, *, quality: int = 85, at_least: int = 0) -> bytes:
    return padded(_encoded_image("jpeg", width, height, quality=quality), at_least)


def png(width: int, height: int, *, at_least: int = 0) -> bytes:
    return padded(_encoded_image("png", width, height), at_least)


def webp(width: int, height: int, *, quality: int = 80) -> bytes:
    return _encoded_image("webp", width, height, quality=quality)


def still(fmt: str, width: int, height: int) -> bytes:
    """Any of IMAGE_FORMATS (gif, bmp, tiff as well as the above)."""
    return _encoded_image(fmt, width, height)


def mp4(width: int, height: int, seconds: float, *, fps: int = 30, codec: str = "h264", audio: bool = False,
        container: str = "mp4", at_least: int = 0, **options: Any) -> bytes:
    """A small video (flat frames, so a few kilobytes a second); `container` is mp4, mov, webm or mkv, and the
    other options are video()'s (sample_rate, audio_codec, channels, pixel_format, rotation)."""
    with tempfile.TemporaryDirectory() as folder:
        path = video(Path(folder) / f"clip.{container}", seconds=seconds, width=width, height=height, fps=fps,
                     codec=codec, audio=audio, **options)
        return padded(path.read_bytes(), at_least)


def _encoded_image(fmt: str, width: int, height: int, **options: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return image(Path(folder) / f"picture.{fmt}", width=width, height=height, fmt=fmt, **options).read_bytes()


def padded(data: bytes, at_least: int) -> bytes:
    """The same picture or video grown to at least `at_least` bytes, still a valid file of its format: JPEG
    comment segments after the start marker, a private PNG chunk before the end, or an MP4/MOV `free` box at the
    end. A file's size limit is broken in milliseconds, without encoding megabytes of picture."""
    missing = at_least - len(data)
    if missing <= 0:
        return data
    if data[:2] == b"\xff\xd8":
        most = 0xFFFF - 2
        segments = b"".join(b"\xff\xfe" + (min(most, missing - done) + 2).to_bytes(2, "big")
                            + bytes(min(most, missing - done)) for done in range(0, missing, most))
        return data[:2] + segments + data[2:]
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        body = bytes(missing)
        chunk = len(body).to_bytes(4, "big") + b"paDd" + body + zlib.crc32(b"paDd" + body).to_bytes(4, "big")
        return data[:-12] + chunk + data[-12:]  # the last 12 bytes are IEND
    if data[4:8] == b"ftyp":
        return data + free_box(max(missing, 8))
    raise ValueError("padded() grows JPEG, PNG, MP4 and MOV files")


def free_box(size: int) -> bytes:
    """An ISO BMFF `free` box of `size` bytes in all."""
    return size.to_bytes(4, "big") + b"free" + bytes(size - 8)


def write_sparse(path: Path, data: bytes, size: int) -> Path:
    """An MP4/MOV of `size` bytes on disk that takes no room: `data` and then one `free` box (64-bit sized) whose
    contents are a hole in the file. For limits of hundreds of megabytes or gigabytes."""
    box = size - len(data)
    with path.open("wb") as f:
        f.write(data + (1).to_bytes(4, "big") + b"free" + box.to_bytes(8, "big"))
        f.truncate(size)
    return path
