"""tabench: measure and improve motion transferability in video action recognition."""

__version__ = "0.1.0"


class TabenchError(Exception):
    """An error caused by the user's input; the CLI prints it as one line, without a traceback."""
