"""``python -m panda_env``: see ``panda_env.cli``."""

from panda_env.cli import main

raise SystemExit(main())
