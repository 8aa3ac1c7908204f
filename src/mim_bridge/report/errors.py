"""Errors of the report layer, one line each, saying what is wrong and what to do.

ReportError           (mim_bridge.errors.LocalFilesError: exit status 8)
├── ReportFileError   the report file cannot be written or read
└── ClientIdError     no usable client id: the state file cannot be read or written
"""

from __future__ import annotations

from mim_bridge.errors import LocalFilesError

__all__ = ["ClientIdError", "ReportError", "ReportFileError"]


class ReportError(LocalFilesError):
    """Root of the report layer's errors."""


class ReportFileError(ReportError):
    """The report file could not be written or read."""


class ClientIdError(ReportError):
    """No client id could be read from the cluster nor kept in the state file."""
