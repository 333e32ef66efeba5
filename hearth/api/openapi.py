"""The API's OpenAPI description, as served at ``GET /openapi.json``.

``python -m hearth.api.openapi > docs/openapi.json`` writes the committed copy; a test
checks that the two agree.
"""

from __future__ import annotations

import json
from typing import Any

from hearth import config
from hearth.api.app import build_app


def description() -> dict[str, Any]:
    """The description of the API on default settings (no Hearth needed)."""
    return build_app(None, config.ApiSettings()).openapi()


if __name__ == "__main__":
    print(json.dumps(description(), indent=2, sort_keys=True))
