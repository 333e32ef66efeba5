"""``python -m hearth``: the same as the ``hearth`` command."""

from hearth.cli import main

main()
