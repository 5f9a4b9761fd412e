"""A ready contract suite for a Gymnasium env and its classifier reward.

Run it in any project with ``pytest --pyargs pytest_drlreward.suite``; configure it with the
``drl_env``, ``drl_model`` and ``drl_backends`` ini keys (or the matching ``--drl-*`` options).
"""
