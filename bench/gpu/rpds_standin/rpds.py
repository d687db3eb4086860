"""A pure-Python stand-in for the slice of rpds-py (persistent maps, sets and lists) that `referencing`
and `jsonschema` use, for `bench/gpu/bare-machine.sh` on a GPU machine whose Python has no rpds-py
build that can be carried there (rpds-py is compiled per Python version, and the offline wheel store
holds only the CPython 3.11 build). Put on the path only when `import rpds` fails; never used by the
product. Each "persistent" update copies the whole container, which is fine for a few schemas.
Semantics follow rpds-py's documented API: values are immutable, updates return new objects."""

from collections.abc import Hashable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any


class HashTrieMap(Mapping[Any, Any]):
    __slots__ = ("_d",)

    def __init__(self, value: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (), **kwargs: Any) -> None:
        self._d: dict[Any, Any] = dict(value.items() if isinstance(value, Mapping) else value)
        self._d.update(kwargs)

    @classmethod
    def convert(cls, value: Any) -> "HashTrieMap":
        return value if isinstance(value, HashTrieMap) else cls(value)

    @classmethod
    def fromkeys(cls, keys: Iterable[Any], value: Any = None) -> "HashTrieMap":
        return cls((k, value) for k in keys)

    def __getitem__(self, key: Any) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(frozenset(self._d.items()))

    def __repr__(self) -> str:
        return f"HashTrieMap({self._d!r})"

    def __or__(self, other: Mapping[Any, Any]) -> "HashTrieMap":
        return self.update(other)

    def insert(self, key: Any, value: Any) -> "HashTrieMap":
        return HashTrieMap({**self._d, key: value})

    def remove(self, key: Any) -> "HashTrieMap":
        if key not in self._d:
            raise KeyError(key)
        return self.discard(key)

    def discard(self, key: Any) -> "HashTrieMap":
        return HashTrieMap((k, v) for k, v in self._d.items() if k != key)

    def update(self, *maps: Mapping[Any, Any] | Iterable[tuple[Any, Any]], **kwargs: Any) -> "HashTrieMap":
        d = dict(self._d)
        for m in maps:
            d.update(m.items() if isinstance(m, Mapping) else m)
        d.update(kwargs)
        return HashTrieMap(d)


class HashTrieSet(AbstractSet[Any]):
    __slots__ = ("_s",)

    def __init__(self, value: Iterable[Hashable] = ()) -> None:
        self._s: frozenset[Any] = frozenset(value)

    def __contains__(self, item: object) -> bool:
        return item in self._s

    def __iter__(self) -> Iterator[Any]:
        return iter(self._s)

    def __len__(self) -> int:
        return len(self._s)

    def __hash__(self) -> int:
        return hash(self._s)

    def __repr__(self) -> str:
        return f"HashTrieSet({set(self._s)!r})"

    def insert(self, item: Hashable) -> "HashTrieSet":
        return HashTrieSet(self._s | {item})

    def remove(self, item: Hashable) -> "HashTrieSet":
        if item not in self._s:
            raise KeyError(item)
        return self.discard(item)

    def discard(self, item: Hashable) -> "HashTrieSet":
        return HashTrieSet(self._s - {item})

    def update(self, *iterables: Iterable[Hashable]) -> "HashTrieSet":
        s = set(self._s)
        for it in iterables:
            s.update(it)
        return HashTrieSet(s)


class List:
    """A persistent singly linked list (rpds.List): push_front, first, rest, iteration."""

    __slots__ = ("_t",)

    def __init__(self, value: Iterable[Any] = (), *more: Any) -> None:
        self._t: tuple[Any, ...] = (*tuple(value), *more)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._t)

    def __len__(self) -> int:
        return len(self._t)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._t)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, List) and self._t == other._t

    def __hash__(self) -> int:
        return hash(self._t)

    def __repr__(self) -> str:
        return f"List({list(self._t)!r})"

    @property
    def first(self) -> Any:
        if not self._t:
            raise IndexError("first of an empty List")
        return self._t[0]

    @property
    def rest(self) -> "List":
        return List(self._t[1:])

    def push_front(self, item: Any) -> "List":
        return List((item, *self._t))

    def drop_first(self) -> "List":
        if not self._t:
            raise IndexError("drop_first of an empty List")
        return List(self._t[1:])
