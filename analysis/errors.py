"""Errors the CLI reports as one line and a non-zero exit, never as a traceback."""


class ReviewError(Exception):
    """A problem the user can fix; its message is the whole report."""

    exit_code = 1


class InputError(ReviewError):
    """Bad input data: the message names the file, row, column and what is wrong."""


class StatsError(ReviewError):
    """Statistical input that cannot be analysed (k = 0, zero variance, NaN, ...)."""


class RenderError(ReviewError):
    """The render failed; the previous output is left in place."""
