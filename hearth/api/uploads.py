"""An image upload's request body as a blocking file for the image store.

``PUT /image/v2/images/{id}/file`` runs ``Hearth.upload_image`` in a worker thread (the
store reads, hashes and writes synchronously); :class:`BodyReader` gives it ``read(n)``
over the request's async body stream, pulling one chunk at a time from the event loop, so
at most about ``n`` bytes are held whatever the body's size. The body limit of
``middleware.py`` still applies (``[api] max_image_bytes``) and surfaces from ``read`` as
the error it raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio.from_thread
from starlette.requests import ClientDisconnect


class BodyReader:
    """``read(n)`` over an async byte stream, for code running in an anyio worker thread."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); b"" at the end. Raises
        OSError when the client goes away (the store reports a failed read)."""
        while not self._done and (size < 0 or len(self._buffer) < size):
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._buffer += chunk
        cut = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        taken = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return taken

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None
        except ClientDisconnect as exc:
            raise OSError("the client closed the connection during the upload") from exc
