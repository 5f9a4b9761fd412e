"""Root conftest: Hypothesis settings profiles for this repository's tests.

``HYPOTHESIS_PROFILE=dev`` (default) keeps the suite quick on 2 cores; ``ci`` is the same size but
derandomised, so CI runs are repeatable; ``thorough`` draws many more examples.
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=20, **_common)
settings.register_profile("ci", max_examples=20, derandomize=True, **_common)
settings.register_profile("thorough", max_examples=300, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
