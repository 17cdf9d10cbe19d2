"""``python -m alphasms_notify`` runs the ``alphasms`` command."""

from .cli import main

main()
