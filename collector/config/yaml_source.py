"""Safe YAML loading that remembers where every key came from.

PyYAML's SafeLoader composes a node tree (no object tags are constructed); we walk
it ourselves so that duplicate keys are an error and every key path maps to a
file position for error messages. `${env:VAR}` and `${env:VAR:-default}` expand in
scalar values before their type is resolved, so `port: ${env:PORT}` is an int.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from collector.config.errors import ConfigError, Position

KeyPath = tuple[str | int, ...]
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# `$${...}` escapes a literal `${...}`.
ESCAPED = re.compile(r"\$\$\{")


class SourcedDocument:
    """Plain Python data plus the position of every key path in it."""

    def __init__(self, data: Any, positions: dict[KeyPath, Position], file: str) -> None:
        self.data = data
        self.positions = positions
        self.file = file

    def position(self, path: KeyPath) -> Position | None:
        # Fall back to the nearest ancestor that has a position (e.g. a missing key).
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None
            path = path[:-1]


def load_yaml(text: str, file: str, env: Mapping[str, str] | None = None) -> SourcedDocument:
    env = os.environ if env is None else env
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        pos = Position(file, mark.line + 1, mark.column + 1) if mark else None
        raise ConfigError.at(pos, "", f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError.at(None, "", f"invalid YAML in {file}: {exc}") from None
    positions: dict[KeyPath, Position] = {}
    if node is None:
        return SourcedDocument({}, positions, file)
    walker = _Walker(file, env, positions)
    return SourcedDocument(walker.walk(node, ()), positions, file)


class _Walker:
    def __init__(self, file: str, env: Mapping[str, str], positions: dict[KeyPath, Position]):
        self.file = file
        self.env = env
        self.positions = positions
        self.loader = yaml.SafeLoader("")

    def pos(self, node: yaml.Node) -> Position:
        return Position(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def walk(self, node: yaml.Node, path: KeyPath) -> Any:
        self.positions.setdefault(path, self.pos(node))
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise ConfigError.at(self.pos(node), dotted(path), f"unsupported YAML tag {node.tag}")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError.at(self.pos(key_node), dotted(path), "YAML merge keys (<<) are not supported")
            key = self.scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | bool | float) or isinstance(key, bool):
                raise ConfigError.at(self.pos(key_node), dotted(path), "keys must be strings")
            key = str(key)
            if key in out:
                first = self.positions.get((*path, key))
                raise ConfigError.at(
                    self.pos(key_node),
                    dotted((*path, key)),
                    f"duplicate key (first defined at line {first.line})" if first else "duplicate key",
                )
            self.positions[(*path, key)] = self.pos(key_node)
            out[key] = self.walk(value_node, (*path, key))
        return out

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        value = node.value
        if "${" in value:
            value = self.expand(value, node, path)
            if node.style is None:  # plain scalar: re-resolve its type after expansion
                tag = self.loader.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
                node = yaml.ScalarNode(tag, value)
            else:
                return value
        elif node.tag not in _SAFE_TAGS:
            raise ConfigError.at(self.pos(node), dotted(path), f"unsupported YAML tag {node.tag}")
        return self.loader.construct_object(node, deep=True)

    def expand(self, value: str, node: yaml.Node, path: KeyPath) -> str:
        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env and (self.env[name] != "" or default is None):
                return self.env[name]
            if default is not None:
                return default
            raise ConfigError.at(
                self.pos(node),
                dotted(path),
                f"environment variable {name} is not set (use ${{env:{name}:-default}} for a default)",
            )

        parts = ESCAPED.split(value)
        return "${".join(ENV_REF.sub(repl, part) for part in parts)


_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
