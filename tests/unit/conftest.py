"""Hypothesis without a per-example deadline.

The property tests exercise real crypto, whose time per example depends on how busy the
machine is; CI runs on two shared cores, so a wall-clock deadline would fail there for reasons
that have nothing to do with correctness. Everything else stays as the active profile says
(Hypothesis loads its own `ci` profile, derandomized, when it detects CI)."""

from hypothesis import settings

settings.register_profile("ironflow", settings(settings.default, deadline=None))
settings.load_profile("ironflow")
