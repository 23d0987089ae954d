"""A dict with a size bound that forgets the least recently used entry first.

Anything the webhook keeps per namespace is keyed by data from a request; without a bound, a
caller sending ever new namespace strings grows the operator's memory until it is killed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LruDict(Generic[K, V]):
    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError("an LRU bound must be at least 1")
        self.bound = bound
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.bound:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items
