"""What a canary test looks for: every string an object keeps reachable, however it is held."""

from __future__ import annotations


def reachable_strings(value: object, seen: set[int] | None = None) -> list[str]:
    """Every string reachable from `value`: containers, objects' attributes and slots (bytes and
    other leaves as their repr, so a decoded value still shows)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in reachable_strings(k, seen) + reachable_strings(v, seen)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for v in value for s in reachable_strings(v, seen)]
    if isinstance(value, (int, float, bool)) or value is None or callable(value):
        return []
    attributes = dict(getattr(value, "__dict__", {}))
    attributes.update({slot: getattr(value, slot) for slot in getattr(type(value), "__slots__", ())
                       if hasattr(value, slot)})
    return reachable_strings(attributes, seen) if attributes else [repr(value)]
