"""Small, playable media for the demo, made on this machine in a few seconds (nothing downloaded).

Video is VP8 with an Opus soundtrack in WebM, audio is Opus in Ogg: royalty-free codecs that
Chromium, Firefox and VLC play everywhere. They are encoded by the FFmpeg libraries that PyAV's
wheel ships (libvpx, libopus), from FFmpeg's own generated sources (the ``lavfi`` test patterns
and an audio expression), so no sample file is stored or fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

SAMPLE_RATE = 48_000
"""Opus works at 48 kHz."""

ARPEGGIO = (
    "0.25*sin(2*PI*t*261.63*pow(2,(4*eq(floor(mod(2*t,4)),1)+7*eq(floor(mod(2*t,4)),2)"
    "+12*eq(floor(mod(2*t,4)),3))/12))*exp(-3*mod(t,0.5))"
)
"""A C major arpeggio, one note every half second with a plucked decay (FFmpeg aevalsrc)."""

BIRDSONG = (
    "0.02*(random(0)-0.5)+0.15*sin(2*PI*t*(2600+900*sin(2*PI*9*t)))*lt(mod(t,2.3),0.35)"
    "+0.1*sin(2*PI*t*(3400+600*sin(2*PI*13*t)))*lt(mod(t+1.1,3.7),0.25)"
)
"""Wind-like noise with two chirping birds (FFmpeg aevalsrc)."""


@dataclass(frozen=True)
class VideoSpec:
    """What a generated clip looks and sounds like."""

    pattern: str = "mandelbrot"
    """An FFmpeg lavfi video source: mandelbrot, gradients, testsrc2, cellauto, ..."""
    options: str = ""
    """The source's own options, ``name=value`` joined by ``:``."""
    seconds: float = 20.0
    width: int = 426
    height: int = 240
    fps: int = 25
    bitrate: int = 400_000
    """Target video bits per second (constant, so the file streams at an even rate)."""
    sound: str = ARPEGGIO
    """An FFmpeg aevalsrc expression of t for the soundtrack."""


def _video_frames(spec: VideoSpec) -> Iterator[VideoFrame]:
    options = f"size={spec.width}x{spec.height}:rate={spec.fps}"
    if spec.options:
        options += f":{spec.options}"
    source = av.open(f"{spec.pattern}={options}", format="lavfi")
    try:
        for index, frame in enumerate(source.decode(video=0)):
            if index >= spec.seconds * spec.fps:
                return
            yield frame
    finally:
        source.close()


def _audio_frames(sound: str, seconds: float) -> Iterator[AudioFrame]:
    # Quoted: the expression's commas would otherwise separate filters in the graph.
    source = av.open(f"aevalsrc=exprs='{sound}':s={SAMPLE_RATE}", format="lavfi")
    try:
        done = 0
        for frame in source.decode(audio=0):
            if done >= seconds * SAMPLE_RATE:
                return
            done += frame.samples
            yield frame
    finally:
        source.close()


def make_video(path: Path, spec: VideoSpec = VideoSpec()) -> Path:
    """Write a WebM clip (VP8 video, Opus sound) of ``spec`` to ``path``.

    Audio and video packets are interleaved in time order, so a player that has only the first
    part of the file can already play both.
    """
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=spec.fps)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        rate = str(spec.bitrate)
        # Realtime speed keeps generation at a few seconds; min = max = target is constant
        # bitrate, so any stretch of the file is about as big as any other.
        video.options = {"deadline": "realtime", "cpu-used": "8", "b": rate}
        video.options |= {"minrate": rate, "maxrate": rate}
        audio = out.add_stream("libopus", rate=SAMPLE_RATE)
        audio.bit_rate = 48_000
        frames = _video_frames(spec)
        sounds = _audio_frames(spec.sound, spec.seconds)
        shown, heard = 0, 0  # video frames and audio samples encoded so far
        picture = next(frames, None)
        sound = next(sounds, None)
        while picture is not None or sound is not None:
            if sound is None or (picture is not None and shown / spec.fps <= heard / SAMPLE_RATE):
                assert picture is not None
                frame = picture.reformat(format="yuv420p")
                frame.pts, frame.time_base = shown, Fraction(1, spec.fps)
                out.mux(video.encode(frame))
                shown += 1
                picture = next(frames, None)
            else:
                sound.pts = heard
                out.mux(audio.encode(sound))
                heard += sound.samples
                sound = next(sounds, None)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path


def make_audio(path: Path, seconds: float = 30.0, sound: str = BIRDSONG) -> Path:
    """Write an Ogg Opus recording of the aevalsrc expression ``sound`` to ``path``."""
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE)
        stream.bit_rate = 64_000
        heard = 0
        for frame in _audio_frames(sound, seconds):
            frame.pts = heard
            out.mux(stream.encode(frame))
            heard += frame.samples
        out.mux(stream.encode(None))
    return path
