"""``swarmfeed demo``: your node and sample creators on a private loopback swarm.

What a newcomer sees, in this order:

1. Your node starts and follows the sample creators; their posts arrive on your timeline live:
   a clip (video with sound), a field recording (audio) and a picture. The clip's creator has a
   slow uplink on purpose, so the clip plays while your node is still downloading it.
2. Your node posts a welcome clip. The creators follow you back and all fetch it at once, from
   you and from each other: the Swarm page shows what your node served and the copies out there.
3. Whatever you post next is fetched by them the same way.

Every node is a real ``swarmfeed node`` process on its own 127.0.0.x address with a private DHT;
nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from swarmfeed.core.units import format_size
from swarmfeed.localswarm import LocalNode, LocalSwarm

CLIP_BITRATE = 400_000
"""Video bits per second of the creator's clip (VP8, constant bitrate)."""

SOUND_BITRATE = 48_000
"""Opus bits per second of the clip's soundtrack."""

SLOW_UPLINK_MARGIN = 1.5
"""The clip creator's upload cap as a multiple of the clip's bitrate: enough to play without
stalls, little enough that the download takes about as long as the clip."""

RECORDING_SECONDS = 30.0
WELCOME_SECONDS = 10.0


@dataclass(frozen=True)
class SamplePost:
    """One sample creator's post: its text and how to make its media files in a folder."""

    text: str
    make: Callable[[Path], list[Path]]
    slow_uplink: bool = False
    """Cap the creator's upload (loopback included) so the media streams while downloading."""
    encoded: bool = True
    """The media is video or audio made with PyAV (left out when PyAV is missing)."""


def _clip(
    seconds: float, pattern: str, name: str, options: str = ""
) -> Callable[[Path], list[Path]]:
    def make(folder: Path) -> list[Path]:
        from swarmfeed.demo.media import VideoSpec, make_video

        spec = VideoSpec(pattern, options, seconds=seconds, bitrate=CLIP_BITRATE)
        return [make_video(folder / name, spec)]

    return make


def _recording(folder: Path) -> list[Path]:
    from swarmfeed.demo.media import make_audio

    return [make_audio(folder / "field-recording.opus", RECORDING_SECONDS)]


def _picture(hue: int) -> Callable[[Path], list[Path]]:
    def make(folder: Path) -> list[Path]:
        path = folder / f"picture-{hue}.svg"
        path.write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360">'
            f'<rect width="640" height="360" fill="hsl({hue},60%,45%)"/>'
            f'<circle cx="320" cy="180" r="120" fill="hsl({(hue + 180) % 360},70%,70%)"/>'
            f'<text x="320" y="190" font-size="36" text-anchor="middle" fill="white">'
            f"swarmfeed</text></svg>"
        )
        return [path]

    return make


def sample_posts(clip_seconds: float) -> list[SamplePost]:
    """Return what the sample creators post, the clip first (creator 1 has the slow uplink).

    They are posted in reverse, so the clip ends up on top of the timeline (under your welcome).
    """
    return [
        SamplePost(
            "A new clip. Press play: it starts long before my slow uplink has sent all of it.",
            # A zoom that starts colourful (the poster frame) and ends deep in the set.
            _clip(
                clip_seconds,
                "mandelbrot",
                "mandelbrot-zoom.webm",
                f"start_scale=1.2:end_scale=0.003:end_pts={int(clip_seconds * 25)}",
            ),
            slow_uplink=True,
        ),
        SamplePost(
            "Field recording from this morning: wind and two birds (generated; the bytes are "
            "real).",
            _recording,
        ),
        SamplePost(
            "Hello swarm! This post and its picture are served by everyone who follows me.",
            _picture(97),
            encoded=False,
        ),
    ]


WELCOME = (
    "Welcome to swarmfeed! Your node just posted this clip. The sample creators follow you, so "
    "they fetch it right away, from you and from each other: open Swarm to see what you served."
)


def media_available() -> bool:
    """Return True when PyAV, which encodes the demo's video and audio, is installed."""
    try:
        import swarmfeed.demo.media  # noqa: F401
    except ImportError:
        return False
    return True


def post_files(node: LocalNode, text: str, files: list[Path]) -> dict[str, Any]:
    """Publish ``text`` with ``files`` on ``node`` through its API; return the new post."""
    handles = [("files", (path.name, path.open("rb"), None)) for path in files]
    try:
        created: dict[str, Any] = node.api("POST", "/api/posts", data={"text": text}, files=handles)
    finally:
        for _, (_, handle, _) in handles:
            handle.close()
    return created


class Demo:
    """Starts the sample creators and your node, posts the samples, and watches the swarm."""

    def __init__(
        self,
        root: Path,
        http: str,
        *,
        creators: int = 3,
        clip_seconds: float = 24.0,
        first_ip: int = 2,
        console: Console | None = None,
    ) -> None:
        self.root = root
        self.http = http
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.swarm = LocalSwarm(root, poll_interval=3.0, republish_interval=60.0, first_ip=first_ip)
        self.with_media = media_available()
        samples = sample_posts(clip_seconds)
        if not self.with_media:
            samples = [sample for sample in samples if not sample.encoded]
        self.samples = [samples[i % len(samples)] for i in range(creators)]
        self.clip_seconds = clip_seconds
        self.media_dir = root / "media"
        self.people: list[LocalNode] = []
        self.you: LocalNode | None = None
        self.welcome: dict[str, Any] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="demo-media")

    def start(self) -> None:
        """Start every node, follow both ways, and publish the samples and the welcome clip."""
        self.media_dir.mkdir(parents=True, exist_ok=True)
        # Encode on one worker thread while the node processes start.
        order = list(reversed(range(len(self.samples))))
        made = {index: self._make(self.samples[index].make, index) for index in order}
        welcome = self._make(_clip(WELCOME_SECONDS, "gradients", "welcome.webm"), 99)
        for index, sample in enumerate(self.samples):
            args = ["--name", f"Sample creator {index + 1}"]
            if sample.slow_uplink:
                rate = int((CLIP_BITRATE + SOUND_BITRATE) / 8 * SLOW_UPLINK_MARGIN)
                args += ["--upload-rate", str(rate), "--rate-limit-local"]
            node = self.swarm.add(f"creator-{index + 1}", extra_args=args)
            self.people.append(node)
            self.console.print(f"started {node.name} on {node.listen}")
        host, _, port = self.http.rpartition(":")
        you = self.swarm.add("you", start=False, extra_args=["--name", "You"])
        you.http_ip, you.http_port = host, int(port)
        self.swarm.start(you)
        self.you = you
        your_address = you.api("GET", "/api/status")["address"]
        for node in self.people:
            you.api(
                "POST", "/api/follows", json={"author": node.api("GET", "/api/status")["address"]}
            )
            node.api("POST", "/api/follows", json={"author": your_address})
        self.console.print(
            f"\n[bold]your node: {you.url}/[/]  (it follows {len(self.people)} sample creators, "
            "and they follow you back)\n"
        )
        if not self.with_media:
            self.console.print(
                "[yellow]PyAV is not installed: the samples carry no video or audio "
                "(pip install 'swarmfeed[demo]')[/]"
            )
        for index in order:
            node, sample = self.people[index], self.samples[index]
            files = made[index].result()
            post_files(node, sample.text, files)
            size = sum(path.stat().st_size for path in files)
            self.console.print(
                f"{node.name} posted {', '.join(p.name for p in files)} ({format_size(size)})"
            )
        if self.with_media:
            self.welcome = post_files(you, WELCOME, welcome.result())
            self.console.print("your node posted welcome.webm; the creators are fetching it")

    def _make(self, make: Callable[[Path], list[Path]], index: int) -> Future[list[Path]]:
        folder = self.media_dir / str(index)
        folder.mkdir(exist_ok=True)
        return self._pool.submit(make, folder)

    def fetched_welcome(self) -> list[LocalNode]:
        """Return the creators that hold the whole welcome clip."""
        if self.welcome is None or self.welcome["media"] is None:
            return []
        post_id = self.welcome["id"]
        done = []
        for node in self.people:
            response = node.client.get(f"/api/posts/{post_id}")
            if response.status_code == 200 and response.json()["media"]["seeding"]:
                done.append(node)
        return done

    def served(self) -> tuple[int, str]:
        """Return the bytes your node uploaded of the welcome clip and its copies as shown."""
        assert self.you is not None and self.welcome is not None
        media = self.you.api("GET", f"/api/posts/{self.welcome['id']}")["media"]
        copies = media["distributed_copies"]
        shown = f"{copies:.1f}" if copies >= 0 else f"≥{media['seeds'] + 1}"
        return int(media["total_upload"]), shown

    def watch_welcome(self, stop: threading.Event, timeout: float = 120.0) -> None:
        """Report as the creators finish fetching the welcome clip from your node."""
        if self.welcome is None:
            return
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while len(seen) < len(self.people) and time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # a node restarting: ask again next round
                for node in self.fetched_welcome():
                    if node.name not in seen:
                        seen.add(node.name)
                        self.console.print(f"{node.name} has your welcome clip")
            if stop.wait(1.0):
                return
        with contextlib.suppress(Exception):
            served, copies = self.served()
            self.console.print(
                f"[bold]viral moment:[/] {len(seen)} peers fetched your clip; your node served "
                f"{format_size(served)}, {copies} copies are out there (see Swarm)"
            )

    def stop(self) -> None:
        """Stop every node and the media worker."""
        self._pool.shutdown(cancel_futures=True)
        self.swarm.stop_all()


def run_demo(home: Path | None, http: str, creators: int, clip_seconds: float) -> None:
    """Run the demo in the foreground until Ctrl-C or SIGTERM."""
    root = home or Path(tempfile.mkdtemp(prefix="swarmfeed-demo-"))
    console = Console(stderr=True, soft_wrap=True)  # URLs stay whole, to be clicked or copied
    console.print(f"[bold]swarmfeed demo[/] in {root}")
    demo = Demo(root, http, creators=creators, clip_seconds=clip_seconds, console=console)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with contextlib.suppress(KeyboardInterrupt):
            demo.start()
            console.print(
                "post something yourself: the creators fetch it too. Ctrl-C stops the demo"
            )
            demo.watch_welcome(stop)
            stop.wait()
        console.print("stopping…")
    finally:
        demo.stop()
    if home is None and os.environ.get("SWARMFEED_DEMO_KEEP") != "1":
        shutil.rmtree(root, ignore_errors=True)
