"""Entry point for ``python -m ml.faces``."""

from ml.faces.cli import main

raise SystemExit(main())
