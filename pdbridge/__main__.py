"""`python -m pdbridge` runs the CLI."""

from pdbridge.cli import main

raise SystemExit(main())
