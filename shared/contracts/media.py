"""What the media service knows about a stored file once it has probed it, as it answers other services (the
publisher checks a post's media against each platform's limits with it) and as the web app shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

MediaKind = Literal["image", "video"]


class MediaProbe(BaseModel):
    """The facts the platforms' limits are about. Dimensions are as displayed: a rotated video's width and
    height are already swapped."""

    kind: MediaKind
    format: str = Field(description="Lower case: jpeg, png, webp, heif, gif for images; mp4, mov, webm… for videos.")
    mime_type: str
    size_bytes: int
    width: int
    height: int
    rotation: int = Field(0, description="Degrees clockwise the player turns the picture (0, 90, 180, 270).")
    duration_sec: float | None = None
    frame_rate: float | None = None
    video_codec: str | None = Field(None, description="FFmpeg's codec name: h264, hevc, vp9, av1…")
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    pixel_format: str | None = Field(None, description="yuv420p and the like, for videos.")
    colour_space: str | None = Field(None, description="bt709, srgb… when the file says.")

    @property
    def aspect_ratio(self) -> float:
        return self.width / self.height if self.height else 0.0


class MediaItem(BaseModel):
    """One stored file of a user's library."""

    id: uuid.UUID
    name: str
    kind: MediaKind
    size_bytes: int
    sha256: str
    probe: MediaProbe
    created_at: datetime
