"""The one door to Jira credentials.

Inside Snowflake the credential lives in a SECRET bound to the procedure and is read through `_snowflake`
(imported lazily: the module only exists there). Local runs hand credentials in directly. Either way the token
travels in a `JiraCredentials`, whose repr never shows it.
"""

from __future__ import annotations

from collections.abc import Callable

from jira_sync.config import ConfigError, SourceConfig
from jira_sync.jira import JiraCredentials

CredentialsProvider = Callable[[SourceConfig], JiraCredentials]


def snowflake_secret_credentials(source: SourceConfig) -> JiraCredentials:
    """Read the source's secret: PASSWORD (email + API token) for basic auth, GENERIC_STRING for bearer."""
    import _snowflake  # only importable inside a Snowflake procedure

    try:
        if source.auth == "bearer":
            return JiraCredentials(token=_snowflake.get_generic_secret_string(source.secret_alias))
        secret = _snowflake.get_username_password(source.secret_alias)
    except Exception as exc:  # _snowflake raises plain exceptions; their text names the alias, not the value
        raise ConfigError(
            f"Source {source.name!r}: cannot read secret alias {source.secret_alias!r} ({type(exc).__name__}). "
            "Bind it to the procedure (SECRETS in snowflake.yml) and check its TYPE: PASSWORD for basic auth, "
            "GENERIC_STRING for bearer tokens."
        ) from None
    return JiraCredentials(token=secret.password, email=source.email or secret.username)


def static_credentials(token: str, email: str | None = None) -> CredentialsProvider:
    """Credentials given up front (local runs, tests): the same for every source."""
    credentials = JiraCredentials(token=token, email=email)
    return lambda _source: credentials
