"""The plugin's ready contract suite, run on our own env and shipped classifier.

``pytest -m parity`` selects its parity tests and prints which backends were compared;
``pytest -m timing`` prints the backend latency table.
"""

from pytest_drlreward.suite.test_contract import *  # noqa: F401,F403
