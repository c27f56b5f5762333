"""``python -m flatprop``: the same as the ``flatprop`` command."""

from flatprop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
