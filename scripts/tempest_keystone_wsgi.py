"""Keystone's WSGI application for gunicorn, started by scripts/tempest.

Keystone parses ``sys.argv`` as its own command line when it loads, and refuses gunicorn's
options: it gets an empty one (its configuration comes from ``OS_KEYSTONE_CONFIG_FILES``).
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402

__all__ = ["application"]
