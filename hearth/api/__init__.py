"""Hearth's HTTP API: OpenStack Block Storage v3 (and an Image v2 subset) over the facade.

The top of the data path, beside the CLI: a request passes ``middleware`` (request id,
body limit, caller, microversion), a route module (``volumes``, ``snapshots``, ``types``,
``messages``, ``limits``) that calls ``hearth.service.facade.Hearth`` with ``wait=False``,
and a ``views`` module that shapes the answer for the negotiated microversion. Errors of
every layer are rendered in one place, ``errors``.
"""
