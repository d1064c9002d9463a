"""One exception type for problems the user can fix (bad path, bad key, bad file).

The CLI turns it into a one-line message and a non-zero exit instead of a traceback,
so every part raises it with the file/line/field and what was expected.
"""


class MedassistError(Exception):
    """A user-fixable problem; the message says what to change."""
