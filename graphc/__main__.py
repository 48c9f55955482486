"""`python -m graphc` runs the `graphc` command line (see `graphc.cli`)."""

from graphc.cli import main

raise SystemExit(main())
