"""Registries that compose a model from config: a method above its parts (backbone -> aggregation -> head).

A bundle's config names each part by its registry key plus keyword arguments, e.g.
``{"name": "musdl", "judges": 7, "bins": 21}``; ``Registry.build`` turns that into a module.
This keeps one code path for every model variant instead of copy-pasted model classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from aqa_core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of factories for one kind of component."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._declared: dict[str, Any] = {}

    def register(self, name: str, declares: Any = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: add a factory (usually a class) under ``name``.

        ``declares`` is what the entry says about itself before anything is built (a backbone's
        preprocessing and clip segmentation), read back with ``declared``.
        """

        def add(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._factories[name] = factory
            self._declared[name] = declares
            return factory

        return add

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: Any) -> Callable[..., T]:
        """The factory registered under ``name``; an unknown name is a ConfigError listing the known ones."""
        if not isinstance(name, str) or name not in self._factories:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or 'none'}")
        return self._factories[name]

    def declared(self, name: Any) -> Any:
        """What the entry ``name`` declared when it was registered (None if nothing); unknown names as ``get``."""
        self.get(name)
        return self._declared[name]

    def build(self, config: Mapping[str, Any]) -> T:
        """Build from ``{"name": ..., **kwargs}``; a wrong argument is a ConfigError naming the part, not a TypeError."""
        options = dict(config)
        name = options.pop("name", None)
        factory = self.get(name)
        try:
            return factory(**options)
        except TypeError as exc:
            raise ConfigError(f"{self.kind} {name!r}: {exc}") from None


METHODS: Registry[Any] = Registry("method")  # a whole model: its parts, loss, prediction and decoding
BACKBONES: Registry[Any] = Registry("backbone")
AGGREGATORS: Registry[Any] = Registry("aggregator")
HEADS: Registry[Any] = Registry("head")
SEGMENTATIONS: Registry[Any] = Registry("segmentation")
