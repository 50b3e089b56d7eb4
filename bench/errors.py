"""The one exception type users see: its message is printed as a single line, no traceback."""


class BenchError(Exception):
    """A problem with the user's input, data or environment, explained in its message."""
