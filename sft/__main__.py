"""``python -m medassist.sft [--config X] [overrides]``: training, for ``accelerate launch -m medassist.sft``."""

import sys

from medassist.cli import main

main(["sft", *sys.argv[1:]])
