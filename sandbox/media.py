"""Test media: deterministic files with a valid header for their type (JPEG, PNG, WebP, MP4, MOV) that the
platforms fetch from /_sandbox/media, what a platform learns about a media URL it fetched, and what it learns
from uploaded video bytes. Pure: the HTTP side is in media_host.py and fetch.py."""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SANDBOX_MEDIA_PATH = "/_sandbox/media/"
SANDBOX_MISSING_MEDIA_PATH = "/_sandbox/media-missing/"
CONTENT_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "txt": "text/plain",
    "html": "text/html",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_DURATION_SECONDS = 15.0
DEFAULT_WIDTH = 1080
DEFAULT_HEIGHT = 1350
DEFAULT_SIZE = 4096
# Big enough to stand for a video nobody should download whole; generated lazily, never held.
MAX_SIZE = 4 * 1024 * 1024 * 1024
MAX_DRIP_SECONDS = 3600.0
STREAM_CHUNK = 1024 * 1024
# How much of an upload is kept to look at its header.
SNIFF_BYTES = 64 * 1024
# Real pictures, for pages and screenshots that show media (every other name is generated): name → (file, size).
SAMPLES = {"sample-bread.jpg": (Path(__file__).parent / "samples" / "bread.jpg", (1080, 1080))}


@functools.cache
def sample_bytes(name: str) -> bytes:
    return SAMPLES[name][0].read_bytes()


@dataclass(frozen=True)
class MediaSpec:
    """One file served under /_sandbox/media/{name}. `drip_seconds` spreads the body over that long;
    `chunked` leaves Content-Length out, so the size is known only by reading to the end."""

    name: str
    content_type: str
    size: int
    duration: float
    width: int
    height: int
    drip_seconds: float = 0.0
    chunked: bool = False

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


def content_type_for(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return CONTENT_TYPES.get(extension, DEFAULT_CONTENT_TYPE)


def media_spec(name: str, params: dict[str, str]) -> MediaSpec:
    """The file `name` shaped by ?duration=&size=&width=&height=&drip_seconds=&chunked=; ValueError when a
    parameter is unusable."""
    duration = float(params.get("duration", DEFAULT_DURATION_SECONDS))
    sample_width, sample_height = SAMPLES[name][1] if name in SAMPLES else (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    width = int(params.get("width", sample_width))
    height = int(params.get("height", sample_height))
    if not 0 <= duration <= 86400 or not 0 < width <= 65535 or not 0 < height <= 65535:
        raise ValueError("duration must be 0..86400 seconds; width and height 1..65535")
    spec = MediaSpec(name=name, content_type=content_type_for(name), size=0, duration=duration, width=width,
                     height=height)
    header = header_bytes(spec)
    size = len(header) if name in SAMPLES else int(params.get("size", max(DEFAULT_SIZE, len(header))))
    if not len(header) <= size <= MAX_SIZE:
        raise ValueError(f"size must be {len(header)}..{MAX_SIZE} bytes for {name}")
    drip_seconds = float(params.get("drip_seconds", 0))
    if not 0 <= drip_seconds <= MAX_DRIP_SECONDS:
        raise ValueError(f"drip_seconds must be 0..{MAX_DRIP_SECONDS:g}")
    return MediaSpec(name=name, content_type=spec.content_type, size=size, duration=duration, width=width,
                     height=height, drip_seconds=drip_seconds, chunked=params.get("chunked") in ("1", "true"))


def header_bytes(spec: MediaSpec) -> bytes:
    if spec.name in SAMPLES:
        return sample_bytes(spec.name)
    builders = {"image/jpeg": _jpeg, "image/png": _png, "image/webp": _webp, "image/gif": _gif,
                "video/mp4": _mp4, "video/quicktime": _mov, "video/webm": _webm}
    builder = builders.get(spec.content_type)
    return builder(spec) if builder else f"sandbox media {spec.name}\n".encode()


def media_bytes(spec: MediaSpec) -> Iterator[bytes]:
    """The whole file, generated lazily: the header, then filler derived from the name, `spec.size` bytes in all."""
    header = header_bytes(spec)[:spec.size]
    yield header
    seed = hashlib.sha256(spec.name.encode()).digest()
    block = (seed * (STREAM_CHUNK // len(seed) + 1))[:STREAM_CHUNK]
    remaining = spec.size - len(header)
    while remaining > 0:
        piece = block[:min(remaining, STREAM_CHUNK)]
        remaining -= len(piece)
        yield piece


def dripped(spec: MediaSpec, steps_per_second: int = 10) -> Iterator[tuple[bytes, float]]:
    """The file in equal pieces, each with the pause to take after it, so that the whole takes drip_seconds."""
    steps = max(1, min(spec.size, round(spec.drip_seconds * steps_per_second)))
    piece, pause = -(-spec.size // steps), spec.drip_seconds / steps
    pending = b""
    for block in media_bytes(spec):
        pending += block
        while len(pending) >= piece:
            yield pending[:piece], pause
            pending = pending[piece:]
    if pending:
        yield pending, pause


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _jpeg(spec: MediaSpec) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    components = b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, spec.height, spec.width, 3) + components
    return b"\xff\xd8" + app0 + sof0


def _png(spec: MediaSpec) -> bytes:
    ihdr = struct.pack(">IIBBBBB", spec.width, spec.height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def _webp(spec: MediaSpec) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (spec.width - 1).to_bytes(3, "little") + (
        spec.height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", max(spec.size - 8, 4 + len(vp8x))) + b"WEBP" + vp8x


def _gif(spec: MediaSpec) -> bytes:
    return b"GIF89a" + struct.pack("<HH", spec.width, spec.height) + b"\x00\x00\x00"


def _iso_video(spec: MediaSpec, brand: bytes) -> bytes:
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 0x200) + brand + b"mp41")
    timescale = 1000
    mvhd = _box(b"mvhd", struct.pack(">IIIII", 0, 0, 0, timescale, round(spec.duration * timescale))
                + b"\x00\x01\x00\x00\x01\x00" + b"\x00" * 10 + b"\x00" * 36 + b"\x00" * 24 + struct.pack(">I", 2))
    tkhd = _box(b"tkhd", struct.pack(">IIIIII", 7, 0, 0, 1, 0, round(spec.duration * timescale))
                + b"\x00" * 52 + struct.pack(">II", spec.width << 16, spec.height << 16))
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd))
    mdat_size = max(8, spec.size - len(ftyp) - len(moov))
    return ftyp + moov + struct.pack(">I", mdat_size) + b"mdat"


def _mp4(spec: MediaSpec) -> bytes:
    return _iso_video(spec, b"isom")


def _mov(spec: MediaSpec) -> bytes:
    return _iso_video(spec, b"qt  ")


def _webm(spec: MediaSpec) -> bytes:
    return b"\x1a\x45\xdf\xa3" + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01" + b"\x42\x82\x84webm"


@dataclass(frozen=True)
class VideoSniff:
    """What the platform learns from uploaded bytes: the container format, and the duration when it is written
    in an mvhd box near the start."""

    format: str | None
    duration: float | None


def sniff_video(head: bytes) -> VideoSniff:
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return VideoSniff("webm", None)
    if head[4:8] != b"ftyp":
        return VideoSniff(None, None)
    brand = head[8:12]
    return VideoSniff("mov" if brand == b"qt  " else "mp4", _mvhd_duration(head))


def _mvhd_duration(data: bytes) -> float | None:
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"moov":
            return _mvhd_duration(data[offset + 8:offset + size])
        if kind == b"mvhd" and offset + 28 <= len(data):
            version = data[offset + 8]
            if version == 0:
                timescale, duration = struct.unpack(">II", data[offset + 20:offset + 28])
                return duration / timescale if timescale else None
            return None
        if size < 8:
            return None
        offset += size
    return None


@dataclass(frozen=True)
class MediaFacts:
    """What a platform knows about a media URL after fetching it. `problem` is None when the fetch succeeded.
    For /_sandbox/media URLs the facts are those the URL's parameters state (the body is filler); any other URL is
    read whole and its bytes examined (`sha256` and `format` are then known, and the content type is the bytes',
    not the one the server claimed)."""

    url: str
    problem: str | None
    status_code: int | None = None
    content_type: str | None = None
    size: int | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = None
    format: str | None = None
    video_codec: str | None = None

    def describe(self) -> dict[str, object]:
        return {"url": self.url, "problem": self.problem, "status_code": self.status_code,
                "content_type": self.content_type, "size": self.size, "sha256": self.sha256, "format": self.format,
                "width": self.width, "height": self.height, "duration": self.duration,
                "video_codec": self.video_codec}

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def is_image(self) -> bool:
        return self.ok and (self.content_type or "").startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.ok and (self.content_type or "").startswith("video/")

    @property
    def aspect_ratio(self) -> float | None:
        return self.width / self.height if self.width and self.height else None


def fetched_facts(url: str, status_code: int, content_type: str | None, size: int | None) -> MediaFacts:
    if status_code != 200:
        return MediaFacts(url=url, problem=f"HTTP {status_code}", status_code=status_code)
    kind = (content_type or "").split(";")[0].strip().lower() or None
    parts = urlsplit(url)
    if SANDBOX_MEDIA_PATH not in parts.path:
        return MediaFacts(url=url, problem=None, status_code=status_code, content_type=kind, size=size)
    params = dict(parse_qsl(parts.query))
    try:
        spec = media_spec(parts.path.rsplit("/", 1)[-1], params)
    except ValueError:
        return MediaFacts(url=url, problem=None, status_code=status_code, content_type=kind, size=size)
    return MediaFacts(url=url, problem=None, status_code=status_code, content_type=kind, size=size,
                      duration=spec.duration if (kind or "").startswith("video/") else None, width=spec.width,
                      height=spec.height)


def unreachable(url: str, reason: str) -> MediaFacts:
    return MediaFacts(url=url, problem=reason)
