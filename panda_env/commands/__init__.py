"""The command line of ``python -m panda_env``, one module per command group (``panda_env.cli`` wires them).

Their ``cmd_*`` functions write the command's output to the ``panda_env.cli`` logger (``common.log``),
which ``common.show_output`` (called by ``cli.main``) shows on stdout, message only; only ``cli.py``
prints, its one-line errors on stderr. The library they call (``panda_env.training``, ``bench``, ``envs``,
``pytest_drlreward``) logs or returns values.
"""
