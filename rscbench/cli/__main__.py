"""`python -m rscbench.cli`: the same as the `rscbench` command."""

import sys

from rscbench.cli.main import main

sys.exit(main())
