"""Who is asking: the caller of each request, as a ``RequestContext``.

Two modes, chosen by ``[api] auth``:

- ``noauth`` (the embedded default): the caller is who the request says, as Cinder's noauth
  mode and cinderclient's noauth plugin have it: ``X-Auth-Token: user:project`` (a bare
  ``user`` means project ``user``), or ``X-User-Id`` and ``X-Project-Id``. Callers in
  ``noauth_admin_projects`` or holding one of ``admin_roles`` (``X-Roles``) are admins.
- ``keystone``: keystonemiddleware's ``auth_token`` validates the token against Keystone
  (in a worker thread: it blocks) and the caller is who Keystone says.

Either way a request without a usable identity gets 401; a claimed id longer than the
columns that record it (255) gets 400 naming its header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import anyio.to_thread
from starlette.datastructures import Headers

from hearth import config, errors
from hearth.context import RequestContext
from hearth.service import fields

NOAUTH_HINT = "send 'X-Auth-Token: USER:PROJECT' or X-User-Id and X-Project-Id headers"


class Authenticator(Protocol):
    """Turns a request's headers into its caller, or raises NotAuthenticated."""

    async def __call__(
        self, scope: Mapping[str, Any], headers: Headers, request_id: str
    ) -> RequestContext: ...


class NoAuth:
    """Believes the identity headers (no validation: for one trusted machine)."""

    def __init__(self, settings: config.ApiSettings) -> None:
        self._admin_projects = frozenset(settings.noauth_admin_projects)
        self._admin_roles = frozenset(settings.admin_roles)

    async def __call__(
        self, scope: Mapping[str, Any], headers: Headers, request_id: str
    ) -> RequestContext:
        user, project = _claimed_identity(headers)
        roles = _roles(headers.get("x-roles", ""))
        admin = project in self._admin_projects or bool(roles & self._admin_roles)
        return RequestContext(
            user_id=user, project_id=project, is_admin=admin, request_id=request_id
        )


def _claimed_identity(headers: Headers) -> tuple[str, str]:
    token = headers.get("x-auth-token", "").strip()
    if token:
        user, _, project = token.partition(":")
        if user:
            return _storable("X-Auth-Token", user), _storable("X-Auth-Token", project or user)
    user, project = headers.get("x-user-id", ""), headers.get("x-project-id", "")
    if user and project:
        return _storable("X-User-Id", user), _storable("X-Project-Id", project)
    raise errors.NotAuthenticated(reason=NOAUTH_HINT)


def _storable(header: str, identity: str) -> str:
    """A claimed user or project id, refused (naming its header) when rows cannot hold it."""
    if len(identity) > fields.MAX_NAME_LENGTH:
        raise errors.InvalidInput(
            field=header, reason=f"user and project ids are at most {fields.MAX_NAME_LENGTH} long"
        )
    return fields.storable(header, identity)


def _roles(text: str) -> frozenset[str]:
    return frozenset(role.strip() for role in text.split(",") if role.strip())


class KeystoneAuth:
    """Validates tokens with keystonemiddleware's ``auth_token`` and reads the identity
    headers it sets (``X-Identity-Status``, ``X-User-Id``, ``X-Project-Id``, ``X-Roles``)."""

    def __init__(self, settings: config.ApiSettings) -> None:
        from keystonemiddleware import auth_token

        self._admin_roles = frozenset(settings.admin_roles)
        self._protocol: Callable[..., Iterable[bytes]] = auth_token.AuthProtocol(
            _identity_echo, middleware_options(settings.keystone)
        )

    async def __call__(
        self, scope: Mapping[str, Any], headers: Headers, request_id: str
    ) -> RequestContext:
        environ = _wsgi_environ(scope, headers)
        outcome = await anyio.to_thread.run_sync(self._validate, environ)
        if outcome is None:
            raise errors.NotAuthenticated(reason="the token was refused by Keystone")
        if outcome.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            raise errors.NotAuthenticated(reason="the token could not be validated")
        roles = _roles(outcome.get("HTTP_X_ROLES", ""))
        return RequestContext(
            user_id=outcome.get("HTTP_X_USER_ID", ""),
            project_id=outcome.get("HTTP_X_PROJECT_ID", ""),
            is_admin=bool(roles & self._admin_roles),
            request_id=request_id,
        )

    def _validate(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """The environ as validated by auth_token, or None when it answered itself."""
        reached: dict[str, Any] = {}
        environ["hearth.reached"] = reached
        statuses: list[str] = []
        body = self._protocol(environ, lambda status, _headers, *_: statuses.append(status))
        b"".join(body)  # run the WSGI response to the end
        return reached or None


def _identity_echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The WSGI app behind auth_token: records what it let through."""
    environ["hearth.reached"].update(environ)
    start_response("204 No Content", [])
    return []


def _wsgi_environ(scope: Mapping[str, Any], headers: Headers) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope.get("path", "/"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": "hearth",
        "SERVER_PORT": "8776",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": scope.get("scheme", "http"),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def middleware_options(settings: config.KeystoneSettings) -> dict[str, str]:
    """The ``keystone_authtoken`` options of the settings, as auth_token reads them."""
    options = {
        "www_authenticate_uri": settings.www_authenticate_uri,
        "auth_url": settings.auth_url,
        "auth_type": settings.auth_type,
        "username": settings.username,
        "password": settings.password,
        "project_name": settings.project_name,
        "user_domain_name": settings.user_domain_name,
        "project_domain_name": settings.project_domain_name,
        "delay_auth_decision": "false",
    }
    if settings.memcached_servers:
        options["memcached_servers"] = ",".join(settings.memcached_servers)
    return {**options, **settings.extra}


def build(settings: config.ApiSettings) -> Authenticator:
    """The authenticator ``[api] auth`` chooses."""
    return KeystoneAuth(settings) if settings.auth == "keystone" else NoAuth(settings)
