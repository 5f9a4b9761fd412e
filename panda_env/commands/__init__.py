"""The command line of ``python -m panda_env``, one module per command group (``panda_env.cli`` wires them).

These modules are the CLI, not library code: their ``cmd_*`` functions print the command's output to
stdout, as ``cli.py`` did before the split. The library they call (``panda_env.training``, ``bench``,
``envs``, ``pytest_drlreward``) never prints; it logs or returns values.
"""
