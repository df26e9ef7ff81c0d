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
import contextlib
import logging
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.authoring import (
    Blocked,
    HeadSeen,
    NotReady,
    OwnLogFacts,
    PublishPlan,
    plan_publication,
)
from swarmfeed.core.bep44 import MutableItem, sign_item, verify_item
from swarmfeed.core.budget import Priority
from swarmfeed.core.feed import (
    HeadPointer,
    Profile,
    decode_head_value,
    encode_head_value,
)
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.media import guess_mime
from swarmfeed.core.paths import check_component
from swarmfeed.core.posts import MAX_CREATED, MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.dht.client import DhtClient, PutResult
from swarmfeed.errors import InvalidInput, SwarmfeedError, TooLarge, UnsafePath
from swarmfeed.node.events import EventBus, PostAdded
from swarmfeed.node.faults import Faults
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.ownlog import OwnLog
from swarmfeed.node.ownpages import OwnPages
from swarmfeed.node.torrents import Progress, TorrentShelf
from swarmfeed.store.database import Database, HeadRow, MediaRow, MediaState, TorrentRow
from swarmfeed.supervisor import Supervisor

log = logging.getLogger("swarmfeed.publisher")

READY_TIMEOUT = 30.0
"""Seconds a publication waits for the own log to become publishable before it is refused."""
RECOVERY_FIRST_DELAY = 2.0
RECOVERY_MAX_DELAY = 60.0

FetchOwnLog = Callable[[MutableItem], Awaitable[None]]
"""Fetches our own pages named by a head found in the DHT (followers seed them)."""


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
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self.state = "starting"
        """``ready``, or why publishing waits or is refused (shown in /api/status)."""
        self._dht_head: MutableItem | None = None
        self._dht_answered = False
        self._put_task: asyncio.Task[None] | None = None
        self._head_listeners: list[Callable[[MutableItem], None]] = []
        self._put_listeners: list[Callable[[MutableItem, PutResult], None]] = []
        self._next_put: MutableItem | None = None
        self._put_wake = asyncio.Event()

    # state -----------------------------------------------------------------------------------

    def own_head(self) -> MutableItem | None:
        """Return the last head this author signed, from the log on disk."""
        return self.log_files.head()

    def on_head_signed(self, listener: Callable[[MutableItem], None]) -> None:
        """Call ``listener(item)`` after every new head this author signs."""
        self._head_listeners.append(listener)

    def on_head_put(self, listener: Callable[[MutableItem, PutResult], None]) -> None:
        """Call ``listener(item, result)`` after every attempt to put our head into the DHT."""
        self._put_listeners.append(listener)

    def _facts(self) -> OwnLogFacts:
        head = self.log_files.head()
        db_head = self.db.feeds.head(self.author)
        dht = self._dht_head
        return OwnLogFacts(
            seq_file=self.log_files.seq_file(),
            head_file=_seen(head),
            database=HeadSeen(db_head.seq, db_head.count) if db_head else None,
            dht=_seen(dht),
            dht_answered=self._dht_answered,
            posts_written=self.log_files.posts_written(),
        )

    def plan(self) -> PublishPlan:
        """Return where the own log stands (raises NotReady/Blocked with the reason)."""
        return plan_publication(self._facts())

    # start -----------------------------------------------------------------------------------

    def merge_index(self) -> None:
        """Make the own log and the index hold the same signed posts (either may have lost some).

        Runs before the start-up reconciliation, so media of posts written ahead but not yet
        in the index count as referenced.
        """
        written = self.log_files.written_seqs()
        stored = self.db.posts.accepted_ids(self.author)
        for seq in sorted(set(stored) - written):
            found = self.db.posts.get(stored[seq])
            if found is not None:
                self.log_files.write_post(found.signed)
        missing = [self.log_files.post(seq) for seq in sorted(written - set(stored))]
        posts = [post for post in missing if post is not None]
        if posts:
            self.db.posts.add(posts, int(self.clock()))
            self._index_media(posts)
        if set(stored) - written or posts:
            log.info(
                "own log and index merged: %d posts rewritten to feed/posts, %d to the index",
                len(set(stored) - written),
                len(posts),
            )

    async def prepare(self) -> None:
        """Make the own log publishable (roll forward), then keep checking the DHT's view.

        Our head is put at once: the node may have stopped right after signing it, and DHT
        items expire after about two hours of absence (BEP 44).
        """
        await self._settle()
        head = self.own_head()
        if head is not None and (self._put_task is None or self._put_task.done()):
            self.schedule_put(head)
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
                await self._sign_head(HeadPointer(bytes.fromhex(newest.infohash), plan.published))
            self.state = "ready"
            self._ready.set()

    async def _check_dht(self) -> None:
        """Look our head up until a lookup is answered; continue above any higher seq (§6)."""
        delay = RECOVERY_FIRST_DELAY
        while True:
            result = await self.dht.get_mutable(self.keys.public_key)
            if result.responders > 0:
                break
            log.info("no DHT node answered the lookup of our head; retrying in %.0f s", delay)
            await asyncio.sleep(delay)  # retry back-off while the DHT is unreachable
            delay = min(delay * 2, RECOVERY_MAX_DELAY)
        item = result.item
        if item is not None:
            verify_item(item)  # get_mutable verified it; a head we trust is checked twice
            self._dht_head = item
            local = self.log_files.seq_file()
            if local is None or item.seq > local:
                log.warning(
                    "the DHT holds our head seq %d, above the local record %s: continuing above it",
                    item.seq,
                    local,
                )
        self._dht_answered = True
        count = decode_head_value(item.value).count if item is not None else 0
        if item is not None and count > self.log_files.posts_written():
            if self.fetch_own_log is None:
                raise SwarmfeedError("posts of our feed are missing and cannot be fetched")
            log.warning("fetching %d posts of our own feed back from the swarm", count)
            await self.fetch_own_log(item)
            self.merge_index()
        if self.state != "ready" or item is not None:
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
        self, text: str, uploads: Sequence[Upload] = (), progress: Progress | None = None
    ) -> SignedPost:
        """Sign a new post with ``uploads`` as its media bundle and publish the new head."""
        total = sum(upload.path.stat().st_size for upload in uploads)
        if total > self.max_upload_bytes:
            raise TooLarge(f"media of {total} bytes is over the {self.max_upload_bytes}-byte limit")
        await self.wait_ready()
        async with self._lock:
            seq = self.plan().next_post_seq
            media = await self._bundle_media(seq, uploads, progress) if uploads else None
            self.faults.reached("publish:media-bundled")
            created = min(max(int(self.clock()), 0), MAX_CREATED)
            post = Post(self.keys.public_key, seq, created, text, media)
            signed = sign_post(post, self.keys)
            self.log_files.write_post(signed)
            self.faults.reached("publish:post-written")
            await self._append_and_sign([signed])
        self.events.publish(PostAdded(signed.id, self.author, seq))
        log.info("published post %s (seq %d)", signed.id, seq)
        return signed

    async def _append_and_sign(self, posts: Sequence[SignedPost]) -> None:
        """Append written posts to the newest page(s), seed them, index them, sign the head."""
        replaced = self.pages.newest_replaceable()
        newest = await self.pages.append(posts, self.profile)
        self.faults.reached("publish:page-seeded")
        now = int(self.clock())
        self.db.posts.add(list(posts), now)
        self._index_media(posts)
        if self.profile:
            self.db.feeds.set_profile(self.author, self.profile.name, self.profile.bio)
        self.faults.reached("publish:index-updated")
        await self._sign_head(HeadPointer(bytes.fromhex(newest.infohash), newest.page.last_seq + 1))
        if replaced is not None and replaced != newest.infohash:
            # Only now, with the head naming its successor on disk, is the old version unused.
            self.pages.drop(replaced)
        self.faults.reached("publish:old-page-dropped")

    def _index_media(self, posts: Sequence[SignedPost]) -> None:
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
            HeadRow(self.author, seq, pointer.count, pointer.infohash.hex(), _encoded(item)),
            int(self.clock()),
        )
        self.faults.reached("publish:head-signed")
        self.schedule_put(item)
        for listener in self._head_listeners:
            listener(item)

    def schedule_put(self, item: MutableItem) -> None:
        """Put ``item`` into the DHT in the background, retrying until some node stores it.

        At most one put is in flight and one waits: a newer item replaces the waiting one (and
        ends a retry pause), and an unfinished put of an older item is never started again. A
        burst of posts costs the put in flight and one put of the newest head; a replaced put
        costs nothing.
        """
        self._next_put = item
        self._put_wake.set()
        if self._put_task is None or self._put_task.done():
            self._put_task = asyncio.create_task(self._put_until_stored())

    async def _put_until_stored(self) -> None:
        """Put the newest scheduled head until some node stores it (or a newer one comes)."""
        while self._next_put is not None:
            item, self._next_put = self._next_put, None
            delay = 0.5
            while self._next_put is None:
                try:
                    result = await self.dht.put_mutable(item)
                    for listener in self._put_listeners:
                        listener(item, result)
                    if result.stored > 0:
                        log.info("head seq %d stored on %d DHT nodes", item.seq, result.stored)
                        break
                    log.warning("head seq %d stored on no DHT node yet; retrying", item.seq)
                except OSError as exc:
                    log.warning("putting head seq %d failed: %s", item.seq, exc)
                    for listener in self._put_listeners:
                        listener(item, PutResult(0, 0))
                self._put_wake.clear()
                # Back-off between DHT retries; a newer head ends it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._put_wake.wait(), delay)
                delay = min(delay * 2, 60.0)

    async def wait_published(self, timeout: float = 60.0) -> None:
        """Wait until the latest head has been stored by at least one DHT node."""
        async with asyncio.timeout(timeout):
            while self._put_task is not None and not self._put_task.done():
                await asyncio.shield(self._put_task)

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


def _seen(item: MutableItem | None) -> HeadSeen | None:
    if item is None:
        return None
    try:
        return HeadSeen(item.seq, decode_head_value(item.value).count)
    except InvalidInput:
        return HeadSeen(item.seq, 0)


def _encoded(item: MutableItem) -> bytes:
    return bencoding.encode(item.to_bencodable())
