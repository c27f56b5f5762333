"""``python -m flatprop``: the same as the ``flatprop`` command."""

from flatprop.cli import main

raise SystemExit(main())
