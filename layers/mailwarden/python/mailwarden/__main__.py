"""``python -m mailwarden``: the operator CLI."""

from mailwarden.cli import main

raise SystemExit(main())
