"""The one door to Jira credentials.

Inside Snowflake the credential lives in a SECRET bound to the procedure and is read through `_snowflake`
(imported lazily: the module only exists there). Local runs hand credentials in directly. Either way the token
travels in a `JiraCredentials`, whose repr never shows it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from jira_sync.config import ConfigError, SourceConfig
from jira_sync.jira import JiraCredentials

CredentialsProvider = Callable[[SourceConfig], JiraCredentials]


def snowflake_secret_credentials(source: SourceConfig) -> JiraCredentials:
    """Read the source's secret: PASSWORD (email + API token) for basic auth, GENERIC_STRING for bearer."""
    import _snowflake  # only importable inside a Snowflake procedure

    try:
        if source.auth == "bearer":
            token, email = _snowflake.get_generic_secret_string(source.secret_alias), None
        else:
            secret = _snowflake.get_username_password(source.secret_alias)
            token, email = secret.password, source.email or secret.username
    except Exception as exc:  # _snowflake raises plain exceptions; their text names the alias, not the value
        raise ConfigError(
            f"Source {source.name!r}: cannot read secret alias {source.secret_alias!r} ({type(exc).__name__}). "
            "Bind it to the procedure (SECRETS in snowflake.yml) and check its TYPE: PASSWORD for basic auth, "
            "GENERIC_STRING for bearer tokens."
        ) from None
    try:
        return JiraCredentials(token=token, email=email)
    except ValueError as exc:  # empty, too short or garbled: the message never quotes the token
        raise ConfigError(
            f"Source {source.name!r}, secret alias {source.secret_alias!r}: {exc}; store the right token with "
            "ALTER SECRET ... SET PASSWORD = ... (or SECRET_STRING for bearer tokens)"
        ) from None


def token_from_env(variable: str) -> str:
    """The token in an environment variable (local runs), checked as `JiraCredentials` checks it: unset,
    blank, too short or garbled tokens are refused with one line naming the variable, never quoting it."""
    token = os.environ.get(variable)
    if not token or not token.strip():
        state = "holds only whitespace" if token else "is empty or unset"
        raise ConfigError(f"Environment variable {variable} {state}: export the Jira API token there.")
    try:
        JiraCredentials(token=token)
    except ValueError as exc:
        raise ConfigError(f"Environment variable {variable}: {exc}") from None
    return token


def static_credentials(token: str, email: str | None = None) -> CredentialsProvider:
    """Credentials given up front (local runs, tests): the same for every source."""
    credentials = JiraCredentials(token=token, email=email)
    return lambda _source: credentials
