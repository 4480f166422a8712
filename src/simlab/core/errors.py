"""User-facing errors. The CLI prints any ``UserError`` as one line and exits with code 2.

Raise these (or a subclass) for problems the user can fix: a bad config key, a malformed
map/BIF/mesh/task file, a missing data path. The message must name the file (and the line
or element when known) and say what is wrong.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


class ConfigError(UserError, ValueError):
    """A config key, value or file that cannot be used."""


class DataError(UserError, ValueError):
    """A data file (map, network, mesh, table, task) that is missing or malformed."""
