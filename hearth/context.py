"""Who asks, and for which request. Passed from the CLI/API down to every task and message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def new_request_id() -> str:
    """A request id in OpenStack's format: ``req-`` followed by a UUID."""
    return f"req-{uuid.uuid4()}"


@dataclass(frozen=True)
class RequestContext:
    """The caller of one request: user, project, admin flag and request id."""

    user_id: str
    project_id: str
    is_admin: bool = False
    request_id: str = field(default_factory=new_request_id)

    @property
    def visible_project(self) -> str | None:
        """The project whose rows this caller sees: None (every project) for an admin."""
        return None if self.is_admin else self.project_id

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form, for messages on the bus."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "is_admin": self.is_admin,
            "request_id": self.request_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RequestContext:
        """The inverse of :meth:`to_dict`."""
        return cls(
            user_id=str(data["user_id"]),
            project_id=str(data["project_id"]),
            is_admin=bool(data.get("is_admin", False)),
            request_id=str(data.get("request_id") or new_request_id()),
        )


def admin_context(project_id: str = "admin") -> RequestContext:
    """A context for Hearth's own work (start-up reconciliation, audits)."""
    return RequestContext(user_id="hearth", project_id=project_id, is_admin=True)
