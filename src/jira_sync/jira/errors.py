"""The three ways talking to Jira fails, each with one message that names the cause and the fix.

Three types, because the caller reacts three ways: fix the credential or its permissions
(:class:`JiraAuthError`), fix the request or the configuration (:class:`JiraRequestError`), or simply try
again later (:class:`JiraUnavailableError`). Messages never contain the credential: the client redacts them
before raising.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["JiraAuthError", "JiraError", "JiraRequestError", "JiraUnavailableError", "one_line"]


class JiraError(Exception):
    """One clear message naming the cause and the fix; never contains the credential.

    ``status`` is the HTTP status behind the error (None when no answer came), ``messages`` are Jira's own
    ``errorMessages``/``errors`` texts, kept separately so a caller can record them without re-parsing.
    """

    def __init__(self, message: str, *, status: int | None = None, messages: Sequence[str] = ()) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.messages = tuple(messages)

    def __str__(self) -> str:
        return self.message


def one_line(text: str) -> str:
    """``text`` with its line breaks (and the blanks around them) folded into single spaces: a message is one
    line in a log, a run-log row or a terminal, whatever a server or a multi-line JQL put into it."""
    return _LINE_BREAKS.sub(" ", text).strip()


_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


class JiraAuthError(JiraError):
    """Jira rejected the credential (401) or the account lacks a permission or scope (403)."""


class JiraRequestError(JiraError):
    """Jira refused what was asked (400 bad JQL, 404, 410 removed API, ...) or answered unreadably."""


class JiraUnavailableError(JiraError):
    """Jira was unreachable, or kept failing (429, 5xx, dropped connections) past the retry budget."""
