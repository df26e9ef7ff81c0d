"""``swarmfeed demo``: your node plus sample creators on a private loopback swarm."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

from rich.console import Console

from swarmfeed.localswarm import LocalSwarm

console = Console(stderr=True)

SAMPLE_POSTS = (
    "Hello swarm! This post and its media are served by everyone who follows me.",
    "Field recording from this morning (generated noise, but the bytes are real).",
    "A new clip. Watch it start before it has finished downloading.",
)


def _media_file(folder: Path, name: str, size: int, seed: int) -> Path:
    path = folder / name
    chunk = bytes((seed * 31 + i) % 251 for i in range(65536))
    with path.open("wb") as out:
        remaining = size
        while remaining > 0:
            out.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)
    return path


def _sample_image(folder: Path, name: str, hue: int) -> Path:
    """Write a small SVG picture (no image library needed)."""
    path = folder / name
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360">'
        f'<rect width="640" height="360" fill="hsl({hue},60%,45%)"/>'
        f'<circle cx="320" cy="180" r="120" fill="hsl({(hue + 180) % 360},70%,70%)"/>'
        f'<text x="320" y="190" font-size="36" text-anchor="middle" fill="white">swarmfeed</text>'
        f"</svg>"
    )
    return path


def run_demo(home: Path | None, http: str, creators: int, media_size: int) -> None:
    """Start sample creators, post generated media, then run your node in the foreground."""
    root = home or Path(tempfile.mkdtemp(prefix="swarmfeed-demo-"))
    swarm = LocalSwarm(root, poll_interval=3.0, republish_interval=60.0)
    with swarm.running():
        console.print(f"[bold]swarmfeed demo[/] in {root}")
        people = []
        for index in range(creators):
            name = f"creator-{index + 1}"
            node = swarm.add(name, extra_args=["--name", f"Sample creator {index + 1}"])
            people.append(node)
            console.print(f"started {name} on {node.listen}")
        media_dir = root / "media"
        media_dir.mkdir(exist_ok=True)
        for index, node in enumerate(people):
            files = [
                ("files", _sample_image(media_dir, f"picture-{index}.svg", index * 97)),
                ("files", _media_file(media_dir, f"recording-{index}.bin", media_size, index)),
            ]
            handles = [(f, (p.name, p.open("rb"), None)) for f, p in files]
            try:
                node.api(
                    "POST", "/api/posts", data={"text": SAMPLE_POSTS[index % 3]}, files=handles
                )
            finally:
                for _, (_, handle, _) in handles:
                    handle.close()
            console.print(f"{node.name} posted {media_size} bytes of media")
        host, _, port = http.rpartition(":")
        you = swarm.add("you", start=False)
        you.http_ip, you.http_port = host, int(port)
        swarm.start(you)
        for node in people:
            status = node.api("GET", "/api/status")
            you.api("POST", "/api/follows", json={"author": status["address"]})
        console.print(f"\nyour node: [bold]{you.url}/[/]  (it follows {len(people)} creators)")
        console.print("press Ctrl-C to stop the demo swarm")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        console.print("stopping…")
    if home is None and os.environ.get("SWARMFEED_DEMO_KEEP") != "1":
        import shutil

        shutil.rmtree(root, ignore_errors=True)
