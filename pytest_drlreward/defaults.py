"""Default thresholds, defined once for the checks and the plugin's ini keys (standard library only)."""

DEFAULT_ATOL = 1e-4  # parity: |candidate - reference| <= atol + rtol * |reference|
DEFAULT_RTOL = 1e-3
DEFAULT_MIN_RECALL = 0.9  # reward fidelity (fails when the whole 95% interval is on the wrong side)
DEFAULT_MAX_FALSE_GOAL_RATE = 0.005
DEFAULT_MIN_GOALS = 5
DEFAULT_FIDELITY_STEPS = 300
DEFAULT_SEARCH_STEPS = 1600  # reward fidelity: env steps of the false-goal (1/4) and goal (3/4) searches
