"""Configuration errors that point a person at the exact file and line to fix."""

from __future__ import annotations


class ConfigError(Exception):
    """One problem of the configuration tree, located at file:line when known."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.message)


class ConfigErrors(ConfigError):
    """Every problem found in one pass over a tree, so all can be fixed at once."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = sorted(errors, key=ConfigError.sort_key)
        first = self.errors[0] if self.errors else None
        super().__init__(
            "\n".join(str(e) for e in self.errors),
            first.file if first else None,
            first.line if first else None,
        )

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def __iter__(self):
        return iter(self.errors)
