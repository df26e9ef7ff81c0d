"""The creator side: media bundles, feed pages and the signed head in the DHT."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item, verify_item
from swarmfeed.core.feed import FeedPage, HeadPointer, Profile, encode_head_value, next_page
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.media import guess_mime
from swarmfeed.core.paths import check_component
from swarmfeed.core.posts import MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.dht.client import DhtClient
from swarmfeed.errors import InvalidInput, TooLarge, UnsafePath
from swarmfeed.node.events import EventBus, PostAdded
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.torrents import Progress, TorrentShelf
from swarmfeed.store.database import Database, PageRow, TorrentRow
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.publisher")


@dataclass(frozen=True)
class Upload:
    """A file the user attached to a post, already written to the staging area."""

    path: Path
    filename: str
    mime: str | None = None


def safe_filename(name: str, index: int) -> str:
    """Return ``name`` reduced to a safe path component (protocol.md §4), or a fallback."""
    base = Path(name.replace("\\", "/")).name.strip()
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in ':/\\"*?<>|')
    cleaned = cleaned.lstrip(".")[:200]
    try:
        return check_component(cleaned, "file name")
    except UnsafePath:
        return f"file-{index}"


class Publisher:
    """Turns the user's text and files into signed posts, pages and head publications."""

    def __init__(
        self,
        keys: KeyPair,
        layout: HomeLayout,
        db: Database,
        shelf: TorrentShelf,
        dht: DhtClient,
        events: EventBus,
        clock: Callable[[], float],
        *,
        profile: Profile | None = None,
        max_upload_bytes: int = 2 * 1024**3,
    ) -> None:
        self.keys = keys
        self.author = keys.public_key.hex()
        self.layout = layout
        self.db = db
        self.shelf = shelf
        self.dht = dht
        self.events = events
        self.clock = clock
        self.profile = profile
        self.max_upload_bytes = max_upload_bytes
        self._lock = asyncio.Lock()
        self._put_task: asyncio.Task[None] | None = None

    # state -----------------------------------------------------------------------------------

    def own_head(self) -> MutableItem | None:
        """Return the last head this author signed, from the log on disk."""
        path = self.layout.own_head
        if not path.exists():
            return None
        return MutableItem.from_bencodable(bencoding.decode(path.read_bytes(), max_size=4096))

    def _last_head_seq(self) -> int:
        try:
            return int(self.layout.head_seq.read_text().strip())
        except (FileNotFoundError, ValueError):
            head = self.own_head()
            return head.seq if head else 0

    def _newest_page(self) -> tuple[FeedPage | None, str | None]:
        pages = self.db.pages(self.author)
        if not pages:
            return None, None
        newest = pages[-1]
        return self.shelf.read_page(newest.infohash), newest.infohash

    # posting ---------------------------------------------------------------------------------

    async def publish(
        self, text: str, uploads: Sequence[Upload] = (), progress: Progress | None = None
    ) -> SignedPost:
        """Sign a new post with ``uploads`` as its media bundle and publish the new head."""
        total = sum(upload.path.stat().st_size for upload in uploads)
        if total > self.max_upload_bytes:
            raise TooLarge(f"media of {total} bytes is over the {self.max_upload_bytes}-byte limit")
        async with self._lock:
            newest, newest_ih = self._newest_page()
            seq = newest.last_seq + 1 if newest else 0
            media = await self._bundle_media(seq, uploads, progress) if uploads else None
            post = Post(
                author=self.keys.public_key,
                seq=seq,
                created=int(self.clock()),
                text=text,
                media=media,
            )
            signed = sign_post(post, self.keys)
            page = next_page(
                newest, bytes.fromhex(newest_ih) if newest_ih else None, signed, self.profile
            )
            created = await self.shelf.seed_page(page)
            page_ih = created.infohash.hex()
            now = int(self.clock())
            self.db.add_torrent(TorrentRow(page_ih, "page", self.author, None), now)
            self.db.add_posts([signed], now)
            self.db.set_page(
                PageRow(self.author, page.index, page_ih, page.first, len(page.posts), page.is_full)
            )
            if self.profile:
                self.db.set_profile(self.author, self.profile.name, self.profile.bio)
            if (
                newest_ih is not None
                and newest is not None
                and newest.index == page.index
                and newest_ih != page_ih
            ):
                self._drop_torrent(newest_ih)
            await self._sign_head(HeadPointer(created.infohash, page.last_seq + 1))
        self.events.publish(PostAdded(signed.id, self.author, seq))
        log.info("published post %s (seq %d, page %d)", signed.id, seq, page.index)
        return signed

    async def _bundle_media(
        self, seq: int, uploads: Sequence[Upload], progress: Progress | None
    ) -> MediaRef:
        staging = self.shelf.new_staging_dir()
        name = f"post-{seq}"
        root = staging / name
        root.mkdir()
        files: list[MediaFile] = []
        used: set[str] = set()
        for index, upload in enumerate(uploads):
            filename = safe_filename(upload.filename, index)
            while filename in used:
                filename = f"{index}-{filename}"
            used.add(filename)
            shutil.move(upload.path, root / filename)
            size = (root / filename).stat().st_size
            files.append(MediaFile(filename, size, upload.mime or guess_mime(filename)))
        created = await self.shelf.seed_folder(staging, name, progress)
        sizes = dict(created.files)
        ordered = tuple(next(f for f in files if f.path == path) for path, _ in created.files)
        if {f.path: f.size for f in ordered} != sizes:
            raise InvalidInput("the media torrent does not hold the uploaded files")
        self.db.add_torrent(
            TorrentRow(created.infohash.hex(), "media", self.author, None), int(self.clock())
        )
        if created.infohash_v2 is None:
            raise InvalidInput("media torrents must be hybrid v1+v2")
        return MediaRef(created.infohash, created.infohash_v2, created.name, ordered)

    def _drop_torrent(self, infohash: str) -> None:
        """Stop seeding a replaced newest page (protocol.md §5: only full pages persist)."""
        self.shelf.engine.remove(infohash, delete_files=True)
        self.db.remove_torrent(infohash)

    # head ------------------------------------------------------------------------------------

    async def _sign_head(self, pointer: HeadPointer) -> None:
        """Sign the head with a never-reused seq (protocol.md §6), persist it, then put it."""
        seq = self._last_head_seq() + 1
        # Persist the seq before anything leaves the node so a crash can never reuse it.
        atomic_write(self.layout.head_seq, f"{seq}\n".encode())
        item = sign_item(self.keys.seed, encode_head_value(pointer), seq)
        atomic_write(self.layout.own_head, bencoding.encode(item.to_bencodable()))
        self.schedule_put(item)

    def schedule_put(self, item: MutableItem) -> None:
        """Put ``item`` into the DHT in the background, retrying until some node stores it."""
        if self._put_task is not None and not self._put_task.done():
            self._put_task.cancel()
        self._put_task = asyncio.create_task(self._put_until_stored(item))

    async def _put_until_stored(self, item: MutableItem) -> None:
        delay = 0.5
        while True:
            try:
                result = await self.dht.put_mutable(item)
                if result.stored > 0:
                    log.info("head seq %d stored on %d DHT nodes", item.seq, result.stored)
                    return
                log.warning("head seq %d stored on no DHT node yet; retrying", item.seq)
            except OSError as exc:
                log.warning("putting head seq %d failed: %s", item.seq, exc)
            await asyncio.sleep(delay)  # back-off between DHT retries, not a wait for an event
            delay = min(delay * 2, 60.0)

    async def wait_published(self, timeout: float = 60.0) -> None:
        """Wait until the latest head has been stored by at least one DHT node."""
        async with asyncio.timeout(timeout):
            while self._put_task is not None:
                task = self._put_task
                try:
                    await asyncio.shield(task)
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise  # we are cancelled ourselves
                if task is self._put_task and task.done():
                    return  # otherwise a newer put replaced the one we waited for

    async def recover_head_seq(self) -> None:
        """Raise the local seq above any head of ours found in the DHT (lost state, §6)."""
        result = await self.dht.get_mutable(self.keys.public_key)
        if result.item is None:
            return
        verify_item(result.item)
        if result.item.seq > self._last_head_seq():
            log.warning(
                "the DHT holds our head seq %d, above the local %d: continuing above it",
                result.item.seq,
                self._last_head_seq(),
            )
            atomic_write(self.layout.head_seq, f"{result.item.seq}\n".encode())

    async def republish(self) -> None:
        """Put our latest head again (DHT items expire after about two hours)."""
        item = self.own_head()
        if item is not None:
            self.schedule_put(item)

    async def close(self) -> None:
        """Cancel a pending DHT put."""
        if self._put_task is not None:
            self._put_task.cancel()
            await asyncio.gather(self._put_task, return_exceptions=True)
