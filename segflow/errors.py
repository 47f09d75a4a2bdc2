"""Errors a user can act on. The CLI prints them as one line and exits with their code."""


class SegflowError(Exception):
    """Base class: `exit_code` follows docs/reference.md (1 = user input, 2 = environment)."""

    exit_code = 1


class UserInputError(SegflowError):
    """Bad YAML, a bad feed, a wrong flag: the user can fix it in their input."""

    exit_code = 1


class SettingsError(SegflowError):
    """A wrong setting (environment variable): an environment problem."""

    exit_code = 2


class WarehouseUnavailable(SegflowError):
    """The warehouse cannot be reached or opened."""

    exit_code = 2


class FileRejected(UserInputError):
    """A delivery that cannot be loaded at all (unreadable, missing column, too many bad rows)."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class RunFailed(SegflowError):
    """A pipeline run failed; the message names the step and the cause."""

    exit_code = 1
