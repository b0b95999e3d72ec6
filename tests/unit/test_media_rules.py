"""Each platform's limits on a post's files, per post type, checked on what the media service found in them
(`MediaProbe`): for every limit a file that breaks it is refused with its rule and a fix in words, and a file
within all of them is taken. The last part makes real files with tests/media_samples.py, reads them with a few lines
of Pillow and PyAV, and shows each made-to-break file breaks the rule it was made for."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image, UnidentifiedImageError

from services.publisher import rules
from shared.contracts.media import MediaProbe
from tests import media_samples as samples

MiB, MB, GB = 1024**2, 1000**2, 1000**3
CREATOR = {"privacy_level_options": ["SELF_ONLY"], "max_video_post_duration_sec": 60}  # TikTok offers 60 to 600
STORY = {"media_type": "STORIES"}


def image(**changes: Any) -> MediaProbe:
    return MediaProbe(**{"kind": "image", "format": "jpeg", "mime_type": "image/jpeg", "size_bytes": 600_000,
                         "width": 1080, "height": 1350, **changes})


def video(**changes: Any) -> MediaProbe:
    return MediaProbe(**{"kind": "video", "format": "mp4", "mime_type": "video/mp4", "size_bytes": 20 * MB,
                         "width": 1080, "height": 1920, "duration_sec": 20.0, "frame_rate": 30.0,
                         "video_codec": "h264", "audio_codec": "aac", "audio_sample_rate": 44_100,
                         "audio_channels": 2, "pixel_format": "yuv420p", **changes})


def media(*probes: MediaProbe, url: str | None = None) -> list[rules.Media]:
    """Probed media whose URLs say nothing true about them: the probe is what the rules read."""
    return [rules.Media(url or f"https://cdn.test/{n}.jpg", p.kind, probe=p) for n, p in enumerate(probes)]


def problems(platform: str, items: list[rules.Media], settings: dict[str, Any] | None = None,
             creator: dict[str, Any] | None = CREATOR) -> list[dict[str, Any]]:
    p = rules.Problems()
    if platform == "instagram":
        rules.check_instagram(p, 0, "acct", "caption", items, settings or {})
    elif platform == "facebook":
        rules.check_facebook(p, 0, "acct", "caption", items, settings or {})
    else:
        rules.check_tiktok(p, 0, "acct", "caption", items, {"privacy_level": "SELF_ONLY", **(settings or {})},
                           creator)
    return p.items


def refused(platform: str, items: list[rules.Media], settings: dict[str, Any] | None = None,
            creator: dict[str, Any] | None = CREATOR) -> list[str]:
    return [problem["rule"] for problem in problems(platform, items, settings, creator)]


# (platform, post type, what breaks, the media, settings, the rule)
BROKEN = [
    ("instagram", "image", "PNG", [image(format="png")], None, "instagram_jpeg_only"),
    ("instagram", "image", "WebP", [image(format="webp")], None, "instagram_jpeg_only"),
    ("instagram", "image", "over 8 MiB", [image(size_bytes=8 * MiB + 1)], None, "instagram_image_size"),
    ("instagram", "image", "taller than 4:5", [image(width=1000, height=1500)], None, "instagram_aspect_ratio"),
    ("instagram", "image", "wider than 1.91:1", [image(width=1920, height=1000)], None, "instagram_aspect_ratio"),
    ("instagram", "carousel", "11 items", [image()] * 11, None, "instagram_carousel_size"),
    ("instagram", "carousel", "two shapes", [image(), image(width=1080, height=1080)], None,
     "instagram_carousel_aspect_ratio"),
    ("instagram", "carousel", "a PNG item", [image(), image(format="png")], None, "instagram_jpeg_only"),
    ("instagram", "carousel", "an item over 8 MiB", [image(), image(size_bytes=9 * MiB)], None,
     "instagram_image_size"),
    ("instagram", "carousel", "a 2 s video item", [image(), video(width=1080, height=1350, duration_sec=2.0)],
     None, "instagram_carousel_video_duration"),
    ("instagram", "carousel", "a VP9 video item", [image(), video(width=1080, height=1350, video_codec="vp9")],
     None, "instagram_carousel_video_codec"),
    ("instagram", "reel", "WebM", [video(format="webm")], None, "instagram_reel_format"),
    ("instagram", "reel", "VP9 in an MP4", [video(video_codec="vp9")], None, "instagram_reel_codec"),
    ("instagram", "reel", "AV1", [video(video_codec="av1")], None, "instagram_reel_codec"),
    ("instagram", "reel", "20 fps", [video(frame_rate=20.0)], None, "instagram_reel_frame_rate"),
    ("instagram", "reel", "120 fps", [video(frame_rate=120.0)], None, "instagram_reel_frame_rate"),
    ("instagram", "reel", "2.9 s", [video(duration_sec=2.9)], None, "instagram_reel_duration"),
    ("instagram", "reel", "15 min 1 s", [video(duration_sec=901.0)], None, "instagram_reel_duration"),
    ("instagram", "reel", "over 300 MB", [video(size_bytes=300 * MB + 1)], None, "instagram_reel_size"),
    ("instagram", "reel", "900 MB (the 1 GB some pages say)", [video(size_bytes=900 * MB)], None,
     "instagram_reel_size"),
    ("instagram", "reel", "2160 px wide", [video(width=2160, height=3840)], None, "instagram_reel_width"),
    ("instagram", "reel", "taller than 1:100", [video(width=10, height=1100)], None, "instagram_reel_aspect_ratio"),
    ("instagram", "reel", "wider than 10:1", [video(width=1920, height=180)], None, "instagram_reel_aspect_ratio"),
    ("instagram", "reel", "MP3 sound", [video(audio_codec="mp3")], None, "instagram_reel_audio_codec"),
    ("instagram", "reel", "96 kHz sound", [video(audio_sample_rate=96_000)], None,
     "instagram_reel_audio_sample_rate"),
    ("instagram", "reel", "5.1 sound", [video(audio_channels=6)], None, "instagram_reel_audio_channels"),
    ("instagram", "reel", "4:4:4 pixels", [video(pixel_format="yuv444p")], None,
     "instagram_reel_chroma_subsampling"),
    ("instagram", "story", "a 1:1 video", [video(width=1080, height=1080)], STORY, "instagram_story_aspect_ratio"),
    ("instagram", "story", "a 16:9 video", [video(width=1920, height=1080)], STORY, "instagram_story_aspect_ratio"),
    ("instagram", "story", "a 61 s video", [video(duration_sec=61.0)], STORY, "instagram_story_duration"),
    ("instagram", "story", "a 2 s video", [video(duration_sec=2.0)], STORY, "instagram_story_duration"),
    ("instagram", "story", "a video over 100 MB", [video(size_bytes=100 * MB + 1)], STORY, "instagram_story_size"),
    ("instagram", "story", "a WebM video", [video(format="webm")], STORY, "instagram_story_format"),
    ("instagram", "story", "a VP9 video", [video(video_codec="vp9")], STORY, "instagram_story_codec"),
    ("instagram", "story", "a 20 fps video", [video(frame_rate=20.0)], STORY, "instagram_story_frame_rate"),
    ("instagram", "story", "a 2160 px wide video", [video(width=2160, height=3840)], STORY,
     "instagram_story_width"),
    ("instagram", "story", "a PNG image", [image(format="png")], STORY, "instagram_jpeg_only"),
    ("instagram", "story", "an image over 8 MiB", [image(size_bytes=8 * MiB + 1)], STORY, "instagram_image_size"),
    ("facebook", "photo", "WebP", [image(format="webp")], None, "facebook_photo_format"),
    ("facebook", "photo", "HEIF", [image(format="heif")], None, "facebook_photo_format"),
    ("facebook", "photo", "over 4 MB", [image(size_bytes=4 * MB + 1)], None, "facebook_photo_size"),
    ("facebook", "photos", "the second over 4 MB", [image(), image(size_bytes=5 * MB)], None,
     "facebook_photo_size"),
    ("facebook", "video", "WebM", [video(format="webm")], None, "facebook_video_format"),
    ("facebook", "video", "over 2 GB", [video(size_bytes=2 * GB + 1)], None, "facebook_video_size"),
    ("facebook", "video", "under 1 KB", [video(size_bytes=1000)], None, "facebook_video_size"),
    ("facebook", "video", "over 240 min", [video(duration_sec=240 * 60 + 1.0)], None, "facebook_video_duration"),
    ("tiktok", "video", "longer than the creator may post", [video(duration_sec=61.0)], None, "tiktok_duration"),
    ("tiktok", "video", "over TikTok's 10 min, creator unknown", [video(duration_sec=601.0)], "no creator",
     "tiktok_duration"),
    ("tiktok", "video", "over 4 GB", [video(size_bytes=4 * GB + 1)], None, "tiktok_video_size"),
    ("tiktok", "video", "MKV", [video(format="mkv")], None, "tiktok_video_format"),
    ("tiktok", "video", "AV1", [video(video_codec="av1")], None, "tiktok_video_codec"),
    ("tiktok", "video", "MPEG-4 Part 2", [video(video_codec="mpeg4")], None, "tiktok_video_codec"),
    ("tiktok", "video", "20 fps", [video(frame_rate=20.0)], None, "tiktok_video_frame_rate"),
    ("tiktok", "video", "61 fps", [video(frame_rate=61.0)], None, "tiktok_video_frame_rate"),
    ("tiktok", "video", "under 360 px a side", [video(width=320, height=568)], None, "tiktok_video_dimensions"),
    ("tiktok", "video", "over 4096 px a side", [video(width=2304, height=4100)], None, "tiktok_video_dimensions"),
    ("tiktok", "photo", "PNG", [image(format="png")], None, "tiktok_photo_format"),
    ("tiktok", "photo", "over 20 MB", [image(size_bytes=20 * MB + 1)], None, "tiktok_photo_size"),
    ("tiktok", "photo", "beyond 1080p portrait", [image(width=1440, height=1800)], None, "tiktok_photo_dimensions"),
    ("tiktok", "photo", "beyond 1080p landscape", [image(width=2000, height=1000)], None,
     "tiktok_photo_dimensions"),
]


@pytest.mark.parametrize(("platform", "post_type", "items", "settings", "rule"),
                         [pytest.param(*case[:2], *case[3:], id=f"{case[0]}-{case[1]}-{case[2]}") for case in BROKEN])
def test_a_file_that_breaks_a_limit_is_refused_with_its_rule_and_a_fix(
        platform: str, post_type: str, items: list[MediaProbe], settings: Any, rule: str) -> None:
    creator = None if settings == "no creator" else CREATOR
    found = problems(platform, media(*items), None if settings == "no creator" else settings, creator)

    assert [p["rule"] for p in found] == [rule]
    [problem] = found
    assert problem["target"] == 0
    assert problem["account_id"] == "acct"
    assert rule.startswith(platform + "_")
    assert {"Instagram", "Facebook", "TikTok"} & set(problem["message"].replace(".", " ").split()), problem
    assert " — " in problem["message"], "says how to fix it"


# (platform, post type, why it is fine, the media, settings)
GOOD = [
    ("instagram", "image", "4:5, a JPEG whatever its URL says", [image()], None),
    ("instagram", "image", "exactly 1.91:1 and 8 MiB", [image(width=1910, height=1000, size_bytes=8 * MiB)], None),
    ("instagram", "image", "200 px wide (Instagram scales it)", [image(width=200, height=200)], None),
    ("instagram", "image", "4000 px wide (Instagram scales it)", [image(width=4000, height=3000)], None),
    ("instagram", "carousel", "10 items of one shape, images and a video",
     [image()] * 9 + [video(width=1080, height=1350)], None),
    ("instagram", "carousel", "two images 1% apart in shape", [image(), image(width=1080, height=1339)], None),
    ("instagram", "reel", "9:16 H.264 with AAC", [video()], None),
    ("instagram", "reel", "16:9 HEVC in a MOV at 60 fps, 3 s, 300 MB, silent",
     [video(format="mov", video_codec="hevc", width=1920, height=1080, frame_rate=60.0, duration_sec=3.0,
            size_bytes=300 * MB, audio_codec=None, audio_sample_rate=None, audio_channels=None)], None),
    ("instagram", "reel", "23 fps, 15 min, mono 48 kHz, 10-bit 4:2:0",
     [video(frame_rate=23.0, duration_sec=900.0, audio_channels=1, audio_sample_rate=48_000,
            pixel_format="yuv420p10le")], {"media_type": "REELS"}),
    ("instagram", "story", "a 9:16 video of 60 s, 100 MB", [video(duration_sec=60.0, size_bytes=100 * MB)], STORY),
    ("instagram", "story", "a near-9:16 video", [video(width=1080, height=1900)], STORY),
    ("instagram", "story", "a square JPEG", [image(width=1080, height=1080)], STORY),
    ("facebook", "photo", "a PNG", [image(format="png")], None),
    ("facebook", "photos", "JPEG, PNG, GIF, BMP and TIFF just under 4 MB",
     [image(format=f, size_bytes=4 * MB) for f in ("jpeg", "png", "gif", "bmp", "tiff")], None),
    ("facebook", "video", "a 2-hour 4K VP9 MOV of 1.9 GB",
     [video(format="mov", video_codec="vp9", width=3840, height=2160, duration_sec=7200.0, size_bytes=1900 * MB,
            frame_rate=120.0)], None),
    ("facebook", "video", "an AVI", [video(format="avi", video_codec="mpeg4")], None),
    ("tiktok", "video", "9:16 H.264 within the creator's 60 s", [video(duration_sec=60.0)], None),
    ("tiktok", "video", "VP9 WebM at 60 fps, 4096x2304",
     [video(format="webm", video_codec="vp9", frame_rate=60.0, width=4096, height=2304)], None),
    ("tiktok", "video", "HEVC MOV at 23 fps, 360x640",
     [video(format="mov", video_codec="hevc", frame_rate=23.0, width=360, height=640)], None),
    ("tiktok", "photo", "a 1080x1920 WebP of 20 MB", [image(format="webp", width=1080, height=1920,
                                                            size_bytes=20 * MB)], None),
    ("tiktok", "photos", "JPEGs at 1920x1080", [image(width=1920, height=1080)] * 3, None),
]


@pytest.mark.parametrize(("platform", "post_type", "items", "settings"),
                         [pytest.param(*case[:2], *case[3:], id=f"{case[0]}-{case[1]}-{case[2]}") for case in GOOD])
def test_a_file_within_every_limit_is_taken(platform: str, post_type: str, items: list[MediaProbe],
                                           settings: Any) -> None:
    probed = media(*items, url="https://cdn.test/named-wrongly.png")
    assert post_type in (rules.facebook_format(probed), rules.instagram_format(probed, settings or {}),
                         "photo" if items[0].kind == "image" else "video", "photos")
    assert refused(platform, probed, settings) == []


def test_the_messages_say_what_is_wrong_what_the_platform_takes_and_the_fix() -> None:
    [tall] = problems("instagram", media(image(width=1000, height=1500)))
    assert tall["message"] == ("This image is 2:3; Instagram feed images must be between 4:5 and 1.91:1 — crop it "
                               "to 4:5.")
    [wide] = problems("instagram", media(image(width=2000, height=1000)))
    assert wide["message"].endswith("crop it to 1.91:1.")
    [square_story] = problems("instagram", media(video(width=1080, height=1080)), STORY)
    assert square_story["message"] == ("This video is 1:1; Instagram story videos must be 9:16 — crop it to 9:16 "
                                       "(1080x1920 is best).")
    [reel] = problems("instagram", media(video(width=10, height=1100)))
    assert "9:16 is recommended" in reel["message"]
    [heavy] = problems("instagram", media(image(size_bytes=9 * MiB)))
    assert heavy["message"].startswith("This image is 9 MiB; Instagram feed images must be at most 8 MiB")
    [long] = problems("tiktok", media(video(duration_sec=61.5)))
    assert long["message"] == "This video is 61.5 s; the creator can post at most 60 s on TikTok — trim it to 60 s."


def test_a_carousel_says_which_items_differ_from_the_first_and_what_shape_they_are() -> None:
    [problem] = problems("instagram", media(image(), image(), image(width=1080, height=1080), image(),
                                            video(width=1920, height=1080)))
    assert problem["rule"] == "instagram_carousel_aspect_ratio"
    assert problem["message"] == ("Item 1 is 4:5 but item 3 is 1:1, item 5 is 16:9; an Instagram carousel shows all "
                                  "its items at one aspect ratio — crop them all to 4:5.")


def test_in_a_post_of_several_files_each_refusal_names_the_file() -> None:
    found = problems("facebook", media(image(), image(format="webp"), image(size_bytes=5 * MB)))
    assert [(p["rule"], p["message"].split(" is ")[0]) for p in found] == [
        ("facebook_photo_format", "Image 2"), ("facebook_photo_size", "Image 3")]


def test_the_probe_decides_over_what_the_url_and_the_person_said() -> None:
    jpeg_named_png = [rules.Media("https://cdn.test/a.png", "image", probe=image())]
    png_named_jpg = [rules.Media("https://cdn.test/a.jpg", "image", probe=image(format="png"))]
    assert refused("instagram", jpeg_named_png) == []
    assert refused("instagram", png_named_jpg) == ["instagram_jpeg_only"]
    assert refused("tiktok", jpeg_named_png) == []
    short_said_long = [rules.Media("https://cdn.test/v.mp4", "video", duration_sec=400, probe=video())]
    long_said_short = [rules.Media("https://cdn.test/v.mp4", "video", duration_sec=10,
                                   probe=video(duration_sec=90.0))]
    assert refused("tiktok", short_said_long) == []
    assert refused("tiktok", long_said_short) == ["tiktok_duration"]


def test_media_not_probed_are_checked_as_before_by_their_url_and_stated_length() -> None:
    assert refused("instagram", [rules.Media("https://cdn.test/a.png", "image")]) == ["instagram_jpeg_only"]
    assert refused("instagram", [rules.Media("https://cdn.test/a.jpg", "image")]) == []
    assert refused("tiktok", [rules.Media("https://cdn.test/a.png", "image")]) == ["tiktok_photo_format"]
    assert refused("tiktok", [rules.Media("https://cdn.test/v.mp4", "video", duration_sec=400)]) == [
        "tiktok_duration"]
    assert refused("facebook", [rules.Media("https://cdn.test/v.webm", "video", duration_sec=99999)]) == []


def test_every_rule_code_is_snake_case_and_starts_with_its_platform() -> None:
    for platform, table in (("instagram", rules.INSTAGRAM_LIMITS), ("facebook", rules.FACEBOOK_LIMITS),
                            ("tiktok", rules.TIKTOK_LIMITS)):
        for limits in table.values():
            for code in (limits.rule, *limits.codes.values()):
                assert re.fullmatch(rf"{platform}_[a-z0-9_]+", code), code


# --- real files, made by tests/media_samples.py and read here with Pillow and PyAV ------------------------

def probe_file(data: bytes | Path) -> MediaProbe:
    """The few facts the rules read, as plainly as Pillow and PyAV give them."""
    raw = data.read_bytes()[:64] if isinstance(data, Path) else data[:64]
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    source: Any = str(data) if isinstance(data, Path) else io.BytesIO(data)
    try:
        with Image.open(source) as picture:
            fmt = (picture.format or "").lower()
            return MediaProbe(kind="image", format=fmt, mime_type=f"image/{fmt}", size_bytes=size,
                              width=picture.width, height=picture.height)
    except UnidentifiedImageError:
        pass
    if isinstance(source, io.BytesIO):
        source.seek(0)
    with av.open(source) as container:
        picture, sound = container.streams.video[0], (container.streams.audio or [None])[0]
        family = container.format.name.split(",")
        if "mp4" in family:
            fmt = "mov" if raw[8:12] == b"qt  " else "mp4"
        else:
            fmt = "webm" if b"webm" in raw else "mkv" if "matroska" in family else family[0]
        return MediaProbe(
            kind="video", format=fmt, mime_type=f"video/{fmt}", size_bytes=size, width=picture.codec_context.width,
            height=picture.codec_context.height, duration_sec=container.duration / av.time_base,
            frame_rate=float(picture.average_rate), video_codec=picture.codec_context.name,
            audio_codec=sound.codec_context.name if sound else None,
            audio_sample_rate=sound.codec_context.sample_rate if sound else None,
            audio_channels=sound.codec_context.channels if sound else None,
            pixel_format=picture.codec_context.pix_fmt)


def rules_broken_by(platform: str, data: bytes | Path, settings: dict[str, Any] | None = None) -> list[str]:
    found = probe_file(data)
    return refused(platform, [rules.Media("https://cdn.test/file", found.kind, probe=found)], settings)


def reel(width: int = 360, height: int = 640, seconds: float = 3.0, **options: Any) -> bytes:
    return samples.mp4(width, height, seconds, **options)


SPARSE_300_MB = b"a 300 MB reel that takes no room on disk, made in the test's own folder"

# (platform, post type, what breaks, how to make the file, settings, the rules it must break)
MADE = [
    ("instagram", "image", "PNG", lambda: samples.png(1080, 1350), None, ["instagram_jpeg_only"]),
    ("instagram", "image", "WebP", lambda: samples.webp(1080, 1350), None, ["instagram_jpeg_only"]),
    ("instagram", "image", "over 8 MiB", lambda: samples.jpeg(1080, 1350, at_least=8 * MiB + 1), None,
     ["instagram_image_size"]),
    ("instagram", "image", "2:3", lambda: samples.jpeg(400, 600), None, ["instagram_aspect_ratio"]),
    ("instagram", "image", "2:1", lambda: samples.jpeg(800, 400), None, ["instagram_aspect_ratio"]),
    ("instagram", "reel", "WebM VP9", lambda: reel(codec="vp9", container="webm"), None,
     ["instagram_reel_format", "instagram_reel_codec"]),
    ("instagram", "reel", "MPEG-4 Part 2 in an MP4", lambda: reel(codec="mpeg4"), None, ["instagram_reel_codec"]),
    ("instagram", "reel", "20 fps", lambda: reel(fps=20), None, ["instagram_reel_frame_rate"]),
    ("instagram", "reel", "2 s", lambda: reel(seconds=2.0), None, ["instagram_reel_duration"]),
    ("instagram", "reel", "over 15 min", lambda: reel(64, 114, 901.0, fps=23), None, ["instagram_reel_duration"]),
    ("instagram", "reel", "over 300 MB", lambda: SPARSE_300_MB, None, ["instagram_reel_size"]),
    ("instagram", "reel", "2000 px wide", lambda: reel(2000, 200, 3.0, fps=23), None, ["instagram_reel_width"]),
    ("instagram", "reel", "wider than 10:1", lambda: reel(1210, 120, 3.0, fps=23), None,
     ["instagram_reel_aspect_ratio"]),
    ("instagram", "reel", "MP3 sound", lambda: reel(audio=True, audio_codec="mp3"), None,
     ["instagram_reel_audio_codec"]),
    ("instagram", "reel", "96 kHz 5.1 sound", lambda: reel(audio=True, sample_rate=96_000, channels=6), None,
     ["instagram_reel_audio_sample_rate", "instagram_reel_audio_channels"]),
    ("instagram", "reel", "4:4:4 pixels", lambda: reel(pixel_format="yuv444p"), None,
     ["instagram_reel_chroma_subsampling"]),
    ("instagram", "story", "a 1:1 video", lambda: reel(360, 360), STORY, ["instagram_story_aspect_ratio"]),
    ("instagram", "story", "a 61 s video", lambda: reel(64, 114, 61.0, fps=24), STORY, ["instagram_story_duration"]),
    ("instagram", "story", "a PNG image", lambda: samples.png(1080, 1920), STORY, ["instagram_jpeg_only"]),
    ("facebook", "photo", "WebP", lambda: samples.webp(800, 600), None, ["facebook_photo_format"]),
    ("facebook", "photo", "over 4 MB", lambda: samples.png(800, 600, at_least=4 * MB + 1), None,
     ["facebook_photo_size"]),
    ("facebook", "video", "WebM", lambda: reel(codec="vp9", container="webm"), None, ["facebook_video_format"]),
    ("facebook", "video", "over 240 min", lambda: reel(64, 64, 240 * 60 + 5, fps=1), None,
     ["facebook_video_duration"]),
    ("tiktok", "video", "MKV", lambda: reel(container="mkv"), None, ["tiktok_video_format"]),
    ("tiktok", "video", "MPEG-4 Part 2", lambda: reel(codec="mpeg4"), None, ["tiktok_video_codec"]),
    ("tiktok", "video", "longer than the creator's 60 s", lambda: reel(seconds=61.0, fps=23), None,
     ["tiktok_duration"]),
    ("tiktok", "video", "20 fps", lambda: reel(fps=20), None, ["tiktok_video_frame_rate"]),
    ("tiktok", "video", "under 360 px a side", lambda: reel(320, 568), None, ["tiktok_video_dimensions"]),
    ("tiktok", "photo", "PNG", lambda: samples.png(1080, 1350), None, ["tiktok_photo_format"]),
    ("tiktok", "photo", "over 20 MB", lambda: samples.jpeg(1080, 1350, at_least=20 * MB + 1), None,
     ["tiktok_photo_size"]),
    ("tiktok", "photo", "beyond 1080p", lambda: samples.jpeg(1440, 1800), None, ["tiktok_photo_dimensions"]),
]


@pytest.mark.parametrize(("platform", "post_type", "make", "settings", "broken"),
                         [pytest.param(*case[:2], *case[3:], id=f"{case[0]}-{case[1]}-{case[2]}") for case in MADE])
def test_a_made_file_breaks_the_rule_it_was_made_to_break(platform: str, post_type: str, make: Any, settings: Any,
                                                         broken: list[str], tmp_path: Path) -> None:
    data = make()
    if data is SPARSE_300_MB:
        data = samples.write_sparse(tmp_path / "big.mp4", reel(), 300 * MB + 1)
    assert rules_broken_by(platform, data, settings) == broken


GOOD_FILES = [
    ("instagram", "image", lambda: samples.jpeg(1080, 1350), None),
    ("instagram", "reel", lambda: reel(audio=True), None),
    ("instagram", "reel", lambda: reel(640, 360, codec="hevc", container="mov", fps=60), None),
    ("instagram", "story", lambda: reel(audio=True), STORY),
    ("instagram", "story", lambda: samples.jpeg(1080, 1920), STORY),
    ("facebook", "photo", lambda: samples.png(800, 600), None),
    ("facebook", "photo", lambda: samples.still("gif", 800, 600), None),
    ("facebook", "video", lambda: reel(container="mkv", codec="mpeg4"), None),
    ("tiktok", "video", lambda: reel(audio=True), None),
    ("tiktok", "video", lambda: reel(codec="vp9", container="webm"), None),
    ("tiktok", "photo", lambda: samples.webp(1080, 1920), None),
]


@pytest.mark.parametrize(("platform", "post_type", "make", "settings"),
                         [pytest.param(*case, id=f"{case[0]}-{case[1]}-{n}") for n, case in enumerate(GOOD_FILES)])
def test_a_made_file_within_every_limit_is_taken(platform: str, post_type: str, make: Any, settings: Any) -> None:
    assert rules_broken_by(platform, make(), settings) == []
