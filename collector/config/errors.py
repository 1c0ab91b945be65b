"""Config errors that point at the file, line, column and key path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ConfigError(Exception):
    """One or more problems with the user's config. Rendered without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    @classmethod
    def at(cls, position: Position | None, path: str, message: str) -> ConfigError:
        return cls([format_problem(position, path, message)])


def format_problem(position: Position | None, path: str, message: str) -> str:
    where = f"{position}: " if position else ""
    key = f"{path}: " if path else ""
    return f"{where}{key}{message}"
