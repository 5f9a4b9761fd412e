"""What faces the user's env and agent: ``drl_env`` specs (``spec``), the classifier's inputs read from an env
(``inputs``), policies and stable-baselines3 agent files (``policies``, ``sb3_agent``). No pytest; they import
``pytest_drlreward.util`` and ``errors`` only."""
