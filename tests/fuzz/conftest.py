"""Hypothesis profiles for the fuzz targets: `ci` (the default: a few hundred inputs each, a
few seconds in all) and `fuzz` for a long local run: HYPOTHESIS_PROFILE=fuzz."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=50_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
