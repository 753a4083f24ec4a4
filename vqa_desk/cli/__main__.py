"""``python -m vqa_desk.cli``: tests and benchmarks start the CLI this way, without the installed script."""

import sys

from vqa_desk.cli import main

sys.exit(main())
