"""jira-sync: a Snowflake-native connector that keeps Snowflake tables in step with Jira Cloud."""

# Kept here (not only in pyproject.toml) because inside Snowflake the package is imported from a stage zip,
# with no installed distribution to read a version from.
__version__ = "0.1.0"
