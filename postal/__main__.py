"""``python -m postal`` runs the CLI."""

from .cli import main


main()
