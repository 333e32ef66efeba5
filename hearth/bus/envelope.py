"""The envelope of a cast: what every bus message carries, whichever transport moves it.

``SchedulerAPI`` and ``VolumeAPI`` build one per cast; a transport carries its encoded JSON
document; the server decodes it before handing it to a worker. A document that is not an
envelope raises :class:`~hearth.errors.MalformedMessage`, so the server can drop it without
a worker ever seeing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hearth import errors
from hearth.context import RequestContext


@dataclass(frozen=True)
class Envelope:
    """``method(context, **args)`` for the endpoint of a topic, at a protocol ``version``
    (``"<major>.<minor>"``: a server serves one major version)."""

    version: str
    method: str
    context: RequestContext
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def major(self) -> str:
        """The major part of the version: what a server checks."""
        return self.version.split(".", maxsplit=1)[0]

    def encode(self) -> dict[str, Any]:
        """The JSON document a transport carries."""
        return {
            "version": self.version,
            "method": self.method,
            "context": self.context.to_dict(),
            "args": dict(self.args),
        }


def decode(document: object) -> Envelope:
    """The envelope in a document taken off the bus; raises MalformedMessage when it is not
    one (not an object, a field missing or of the wrong type)."""
    if not isinstance(document, dict):
        raise errors.MalformedMessage(reason=f"a {type(document).__name__}, not an object")
    version, method = document.get("version"), document.get("method")
    context, args = document.get("context"), document.get("args", {})
    if not isinstance(version, str) or not isinstance(method, str):
        raise errors.MalformedMessage(reason="version and method must be strings")
    if not isinstance(args, dict):
        raise errors.MalformedMessage(reason=f"the arguments of {method} are not an object")
    if not isinstance(context, dict):
        raise errors.MalformedMessage(reason=f"the context of {method} is not an object")
    try:
        request_context = RequestContext.from_dict(context)
    except KeyError as exc:
        raise errors.MalformedMessage(reason=f"the context of {method} lacks {exc}") from exc
    return Envelope(version, method, request_context, args)
