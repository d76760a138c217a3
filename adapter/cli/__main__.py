"""``python -m adapter.cli``: the ``ipfhir`` command without the console script."""

from ipfhir.adapter.cli.main import main

raise SystemExit(main())
