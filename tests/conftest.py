"""Test-wide settings. In CI (CI=true) hypothesis runs derandomized, so a submission's result
does not depend on which random examples one run happened to draw; locally it explores anew."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
