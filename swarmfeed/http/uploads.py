"""Receiving a post over HTTP: one path for ``POST /api/posts`` and the web form ``/compose``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qsl

from fastapi import Request

from swarmfeed.errors import InvalidInput, TooLarge
from swarmfeed.http.headers import parse_content_length
from swarmfeed.http.multipart import FormLimits, ReceivedForm, read_multipart
from swarmfeed.node.compose import Composer
from swarmfeed.node.publisher import Upload
from swarmfeed.node.uploads import UploadProgress
from swarmfeed.store.database import StoredPost

T = TypeVar("T")
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


async def receive_post(request: Request, composer: Composer) -> StoredPost:
    """Read a post form (``text``, ``files``, ``upload_id``, ``reply_to``, ``repost_of``)."""

    async def publish(
        fields: dict[str, str], uploads: list[Upload], progress: UploadProgress
    ) -> StoredPost:
        return await composer.publish(
            fields.get("text", ""),
            uploads,
            progress,
            reply_to=fields.get("reply_to") or None,
            repost_of=fields.get("repost_of") or None,
        )

    return await receive_form(request, composer, publish)


async def receive_form(
    request: Request,
    composer: Composer,
    act: Callable[[dict[str, str], list[Upload], UploadProgress], Awaitable[T]],
) -> T:
    """Read a form with files into staging and hand it to ``act`` (posts, profiles).

    A body declared larger than the limits is refused before a byte of it is read; a body
    that turns out larger is refused as soon as the limit is passed. Whatever was staged is
    removed when the request ends, published or not.
    """
    limits = FormLimits(max_file_bytes=composer.max_upload_bytes)
    declared = parse_content_length(request.headers.get("content-length"))
    if declared is not None and declared > limits.max_body_bytes:
        raise TooLarge(f"upload of {declared} bytes is over the {limits.max_file_bytes}-byte limit")
    content_type = request.headers.get("content-type", "")
    async with composer.staging() as folder:
        if content_type.startswith("multipart/form-data"):
            form = await read_multipart(request.stream(), content_type, folder, limits)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = await _read_urlencoded(request, limits)
        else:
            raise InvalidInput("send a post as multipart/form-data (or a urlencoded text form)")
        upload_id = form.fields.get("upload_id") or None
        if upload_id is not None and not _UPLOAD_ID.fullmatch(upload_id):
            raise InvalidInput("upload_id must be 1 to 64 letters, digits, '-' or '_'")
        progress = composer.progress(upload_id)
        progress.total = sum(f.size for f in form.files)
        uploads = [Upload(f.path, f.filename, f.mime) for f in form.files]
        return await act(dict(form.fields), uploads, progress)


async def _read_urlencoded(request: Request, limits: FormLimits) -> ReceivedForm:
    """Read a small urlencoded form (a post without files)."""
    budget = limits.max_fields * limits.max_field_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > budget:
            raise TooLarge(f"form over {budget} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=limits.max_fields
        )
    except UnicodeDecodeError as exc:
        raise InvalidInput("the form is not UTF-8") from exc
    except ValueError as exc:
        raise TooLarge(f"a form holds at most {limits.max_fields} fields") from exc
    return ReceivedForm(fields=dict(pairs))
