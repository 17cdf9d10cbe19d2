"""``python -m alphasms_notify`` runs the ``alphasms`` command."""

from .cli.app import main

main()
