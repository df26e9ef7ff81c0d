"""Creating a post from files received into the staging area: one service for every front end.

The JSON API, the no-JavaScript web form and anything else that receives a post hand the
received text and files to ``Composer.publish``; the upload progress they report and the
refusals they answer are therefore the same.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from swarmfeed.errors import InvalidInput
from swarmfeed.node.node import Node
from swarmfeed.node.publisher import Upload
from swarmfeed.node.uploads import UploadProgress, UploadTracker
from swarmfeed.store.database import StoredPost


class Composer:
    """Publishes posts by this node's author from staged uploads, tracking their progress."""

    def __init__(self, node: Node, tracker: UploadTracker | None = None) -> None:
        self.node = node
        self.uploads = tracker or UploadTracker()

    @property
    def max_upload_bytes(self) -> int:
        """Return the largest total size of a post's files this node accepts."""
        return self.node.settings.max_upload_bytes

    @asynccontextmanager
    async def staging(self) -> AsyncIterator[Path]:
        """Yield a fresh folder under ``<home>/staging`` and remove it (and what is left) after."""
        folder = self.node.shelf.new_staging_dir()
        try:
            yield folder
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    def progress(self, upload_id: str | None) -> UploadProgress:
        """Start tracking an upload under the client's ``upload_id`` (or a fresh id)."""
        return self.uploads.start(upload_id or uuid.uuid4().hex)

    async def publish(
        self,
        text: str,
        files: Sequence[Upload],
        progress: UploadProgress,
        *,
        reply_to: str | None = None,
        repost_of: str | None = None,
    ) -> StoredPost:
        """Sign and publish ``text`` with ``files`` (already in a staging folder).

        ``reply_to`` makes it a reply, ``repost_of`` a repost (a quote when it has text).
        """
        if not text.strip() and not files and not repost_of:
            raise InvalidInput("a post needs text or at least one file")

        def on_hash(done: int, total: int) -> None:
            UploadTracker.hashing(progress, done, total)

        try:
            signed = await self.node.create_post(
                text, files, on_hash, reply_to=reply_to, repost_of=repost_of
            )
        except Exception as exc:
            progress.phase, progress.error = "failed", str(exc)
            raise
        progress.phase, progress.post_id = "done", signed.id
        return self.node.post(signed.id)
