"""The upload body reader: blocking ``read(n)`` over an async body, from a worker thread."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import pytest
from starlette.requests import ClientDisconnect

from hearth.api.uploads import BodyReader


async def body(*chunks: bytes, disconnect: bool = False) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if disconnect:
        raise ClientDisconnect()


def reads(reader: BodyReader, *sizes: int) -> list[bytes]:
    async def in_a_worker() -> list[bytes]:
        return await anyio.to_thread.run_sync(lambda: [reader.read(n) for n in sizes])

    return anyio.run(in_a_worker)


def test_reads_gather_chunks_up_to_the_size_asked_then_end_with_empty_bytes() -> None:
    reader = BodyReader(body(b"ab", b"cde", b"f"))

    assert reads(reader, 4, 4, 4) == [b"abcd", b"ef", b""]


def test_a_negative_size_reads_everything_left() -> None:
    assert reads(BodyReader(body(b"ab", b"cd")), 1, -1) == [b"a", b"bcd"]


def test_a_client_that_goes_away_is_an_os_error_for_the_store() -> None:
    reader = BodyReader(body(b"ab", disconnect=True))

    with pytest.raises(OSError, match="closed the connection"):
        reads(reader, 8)
