"""Exceptions for problems a user can fix. The CLI prints their message on one line and exits with 2.

Bugs are not wrapped: they stay tracebacks.
"""


class StylizeError(Exception):
    """Base class of every user-fixable error (bad input, missing model, unavailable device)."""


class InputError(StylizeError):
    """An input file, folder or option value cannot be used."""


class DeviceError(StylizeError):
    """The requested compute device is not available."""


class ModelError(StylizeError):
    """Weights or a model folder are missing, corrupt or of the wrong shape."""


class ConfigError(InputError):
    """A configuration field holds an unusable value. Libraries name the field; the CLI shows it as its flag."""

    def __init__(self, field: str, detail: str):
        self.field, self.detail = field, detail
        super().__init__(f"{field} {detail}")

    def with_flag(self, flag: str) -> str:
        return f"{flag} {self.detail}"
