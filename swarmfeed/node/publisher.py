"""The creator side: media bundles, feed pages and the signed head in the DHT.

A publication takes several steps (faults.PUBLISH_STEPS); the node may die between any two.
The signed post is written to the own log (``feed/posts``) before anything else refers to it,
and the head is signed last, after the seq file was advanced: at start ``prepare`` publishes
any post written ahead but not covered by a head (roll forward), the start-up reconciliation
removes torrents a crashed step left behind, and no seq is ever used twice
(core/authoring.plan_publication).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core import bencoding, kinds
from swarmfeed.core.authoring import (
    Blocked,
    NotReady,
    PublishPlan,
)
from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.core.budget import Priority
from swarmfeed.core.drafts import Draft
from swarmfeed.core.feed import (
    HeadPointer,
    Profile,
    encode_head_value,
)
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.kinds import ProfileInfo
from swarmfeed.core.media import guess_mime
from swarmfeed.core.paths import check_component
from swarmfeed.core.posts import MAX_CREATED, MediaFile, MediaRef, SignedPost, sign_post
from swarmfeed.dht.client import DhtClient, PutResult
from swarmfeed.errors import InvalidInput, TooLarge, UnsafePath
from swarmfeed.node.events import EventBus, PostAdded
from swarmfeed.node.faults import Faults
from swarmfeed.node.headput import HeadPutter
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.ownlog import OwnLog
from swarmfeed.node.ownpages import OwnPages
from swarmfeed.node.ownstate import FetchOwnLog, OwnLogState
from swarmfeed.node.torrents import Progress, TorrentShelf
from swarmfeed.store.database import Database, HeadRow, MediaRow, MediaState, TorrentRow
from swarmfeed.supervisor import Supervisor

log = logging.getLogger("swarmfeed.publisher")

READY_TIMEOUT = 30.0
"""Seconds a publication waits for the own log to become publishable before it is refused."""


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
        supervisor: Supervisor,
        *,
        profile: Profile | None = None,
        max_upload_bytes: int = 2 * 1024**3,
        faults: Faults | None = None,
        fetch_own_log: FetchOwnLog | None = None,
    ) -> None:
        self.keys = keys
        self.author = keys.public_key.hex()
        self.layout = layout
        self.db = db
        self.shelf = shelf
        self.dht = dht
        self.events = events
        self.clock = clock
        self.supervisor = supervisor
        self.profile = profile
        self.max_upload_bytes = max_upload_bytes
        self.faults = faults or Faults()
        self.fetch_own_log = fetch_own_log
        self.log_files = OwnLog(layout, keys)
        self.pages = OwnPages(keys, db, shelf, self.log_files, clock)
        self.own = OwnLogState(self.log_files, db, dht, clock, self.index_media, fetch_own_log)
        self.heads = HeadPutter(dht)
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self.state = "starting"
        """``ready``, or why publishing waits or is refused (shown in /api/status)."""
        self._head_listeners: list[Callable[[MutableItem], None]] = []
        self._index_listeners: list[Callable[[Sequence[SignedPost]], None]] = []

    # state -----------------------------------------------------------------------------------

    def own_head(self) -> MutableItem | None:
        """Return the last head this author signed, from the log on disk."""
        return self.log_files.head()

    def on_head_signed(self, listener: Callable[[MutableItem], None]) -> None:
        """Call ``listener(item)`` after every new head this author signs."""
        self._head_listeners.append(listener)

    def on_head_put(self, listener: Callable[[MutableItem, PutResult], None]) -> None:
        """Call ``listener(item, result)`` after every attempt to put our head into the DHT."""
        self.heads.on_put(listener)

    def plan(self) -> PublishPlan:
        """Return where the own log stands (raises NotReady/Blocked with the reason)."""
        return self.own.plan()

    # start -----------------------------------------------------------------------------------

    def merge_index(self) -> None:
        """Make the own log and the index hold the same signed posts (run before reconcile)."""
        self.own.merge_index()

    async def prepare(self) -> None:
        """Make the own log publishable (roll forward), then keep checking the DHT's view.

        Our head is put at once: the node may have stopped right after signing it, and DHT
        items expire after about two hours of absence (BEP 44).
        """
        await self._settle()
        head = self.own_head()
        if head is not None and self.heads.idle():
            self.heads.schedule(head)
        self.supervisor.spawn("own-head-check", self._check_dht, restart=True)

    async def _settle(self) -> None:
        async with self._lock:
            try:
                plan = self.plan()
            except (NotReady, Blocked) as exc:
                self.state = str(exc)
                self._ready.clear()
                log.warning("publishing waits: %s", exc)
                return
            newest = await self.pages.load_newest(
                plan.published, self.log_files.head(), self.profile
            )
            if plan.unpublished:
                posts = [self.log_files.post(seq) for seq in plan.unpublished]
                found = [post for post in posts if post is not None]
                log.warning("rolling forward %d posts written before the last stop", len(found))
                await self._append_and_sign(found)
            elif newest is not None and newest.rebuilt:
                log.warning("the newest page was rebuilt from the signed posts; signing its head")
                await self._sign_head(newest.pointer())
            self.state = "ready"
            self._ready.set()

    async def _check_dht(self) -> None:
        """Confirm our seqs against the DHT's view of our head (protocol.md §6), then settle."""
        await self.own.check_dht()
        await self._settle()

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the own log is publishable; raise NotReady/Blocked with the reason."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            self.plan()  # raises with the current reason
            raise NotReady(f"the own log is not ready yet: {self.state}") from None

    # posting ---------------------------------------------------------------------------------

    async def publish(
        self,
        draft: str | Draft,
        uploads: Sequence[Upload] = (),
        progress: Progress | None = None,
    ) -> SignedPost:
        """Sign a new post (``draft``, or a text) with ``uploads`` as its media bundle, publish.

        The first publication after a profile is configured (``--name``) also carries that
        profile as a profile entry, unless the author published one already.
        """
        if isinstance(draft, str):
            draft = Draft(draft)
        total = sum(upload.path.stat().st_size for upload in uploads)
        if total > self.max_upload_bytes:
            raise TooLarge(f"media of {total} bytes is over the {self.max_upload_bytes}-byte limit")
        await self.wait_ready()
        async with self._lock:
            seq = self.plan().next_post_seq
            media = await self._bundle_media(seq, uploads, progress) if uploads else None
            self.faults.reached("publish:media-bundled")
            created = min(max(int(self.clock()), 0), MAX_CREATED)
            signed = sign_post(draft.post(self.keys.public_key, seq, created, media), self.keys)
            entries = [signed, *self._configured_profile(seq + 1, created, draft)]
            for entry in entries:
                self.log_files.write_post(entry)
            self.faults.reached("publish:post-written")
            await self._append_and_sign(entries)
        for entry in entries:
            self.events.publish(PostAdded(entry.id, self.author, entry.post.seq))
        log.info("published %s %s (seq %d)", draft.kind, signed.id, seq)
        return signed

    def _configured_profile(self, seq: int, created: int, draft: Draft) -> list[SignedPost]:
        """Return the configured profile as an entry at ``seq`` if none was published yet."""
        if self.profile is None or draft.kind == kinds.PROFILE:
            return []
        if self.db.posts.latest_of_kind(self.author, kinds.PROFILE) is not None:
            return []
        info = ProfileInfo(self.profile.name, self.profile.bio)
        entry = Draft(kind=kinds.PROFILE, profile=info)
        return [sign_post(entry.post(self.keys.public_key, seq, created, None), self.keys)]

    def on_posts_indexed(self, listener: Callable[[Sequence[SignedPost]], None]) -> None:
        """Call ``listener(posts)`` after our new posts are in the index."""
        self._index_listeners.append(listener)

    async def _append_and_sign(self, posts: Sequence[SignedPost]) -> None:
        """Append written posts to the newest page(s), seed them, index them, sign the head."""
        replaced = self.pages.newest_replaceable()
        newest = await self.pages.append(posts, None)
        self.faults.reached("publish:page-seeded")
        now = int(self.clock())
        self.db.posts.add(list(posts), now)
        self.index_media(posts)
        self.faults.reached("publish:index-updated")
        await self._sign_head(newest.pointer())
        if replaced is not None and replaced != newest.infohash:
            # Only now, with the head naming its successor on disk, is the old version unused.
            self.pages.drop(replaced)
        self.faults.reached("publish:old-page-dropped")
        for listener in self._index_listeners:
            listener(posts)

    def index_media(self, posts: Sequence[SignedPost]) -> None:
        """Record the media of our own ``posts`` as complete bundles we seed."""
        now = int(self.clock())
        rows: list[MediaRow] = []
        for signed in posts:
            media = signed.post.media
            if media is None:
                continue
            infohash = media.infohash.hex()
            self.db.torrents.add(TorrentRow(infohash, "media", self.author, signed.id), now)
            rows.append(
                MediaRow(
                    infohash,
                    self.author,
                    signed.id,
                    media.total_size,
                    signed.post.created,
                    Priority.BACKLOG,
                    MediaState.COMPLETE,
                    None,
                    None,
                )
            )
        self.db.media.add(rows, now)

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
            if size == 0:
                shutil.rmtree(staging, ignore_errors=True)
                raise InvalidInput(f"file {upload.filename!r} is empty")
            files.append(MediaFile(filename, size, upload.mime or guess_mime(filename)))
        created = await self.shelf.seed_folder(staging, name, progress)
        sizes = dict(created.files)
        ordered = tuple(next(f for f in files if f.path == path) for path, _ in created.files)
        if {f.path: f.size for f in ordered} != sizes:
            raise InvalidInput("the media torrent does not hold the uploaded files")
        if created.infohash_v2 is None:
            raise InvalidInput("media torrents must be hybrid v1+v2")
        return MediaRef(created.infohash, created.infohash_v2, created.name, ordered)

    # head ------------------------------------------------------------------------------------

    async def _sign_head(self, pointer: HeadPointer) -> None:
        """Sign the head with a never-reused seq (protocol.md §6), persist it, then put it."""
        seq = self.plan().next_head_seq
        # Persist the seq before the signature exists so a crash can never reuse it.
        self.log_files.write_seq(seq)
        self.faults.reached("publish:seq-reserved")
        item = sign_item(self.keys.seed, encode_head_value(pointer), seq)
        self.log_files.write_head(item)
        self.db.feeds.set_head(
            HeadRow(
                self.author,
                seq,
                pointer.count,
                pointer.infohash.hex(),
                bencoding.encode(item.to_bencodable()),
            ),
            int(self.clock()),
        )
        self.faults.reached("publish:head-signed")
        self.heads.schedule(item)
        for listener in self._head_listeners:
            listener(item)

    def schedule_put(self, item: MutableItem) -> None:
        """Put ``item`` into the DHT in the background, retrying until some node stores it."""
        self.heads.schedule(item)

    async def wait_published(self, timeout: float = 60.0) -> None:
        """Wait until the latest head has been stored by at least one DHT node."""
        await self.heads.wait_published(timeout)

    async def republish(self) -> None:
        """Put our latest head again (DHT items expire after about two hours)."""
        item = self.own_head()
        if item is not None:
            self.heads.schedule(item)

    async def close(self) -> None:
        """Cancel a pending DHT put."""
        await self.heads.close()
