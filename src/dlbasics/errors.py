"""User-facing errors.

Anything a user can fix (a bad config value, a missing data folder, a corrupt
file) raises a subclass of :class:`DlbasicsError`. Entry points catch these
and print one message instead of a traceback from deep inside torch.
"""


class DlbasicsError(Exception):
    """A mistake the user can fix; the message names the problem and the fix."""


class ConfigError(DlbasicsError, ValueError):
    """A config key has a value outside what it accepts."""


class DataError(DlbasicsError):
    """Data files are missing, unreadable or inconsistent."""
