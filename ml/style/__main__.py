"""``python -m ml.style``: see :mod:`ml.style.cli`."""

from __future__ import annotations

from ml.style.cli import main

raise SystemExit(main())
