"""The dashboard: a Streamlit app on the connector's tables and views, in Snowflake and on a laptop.

Deployed by `snow streamlit deploy` (snowflake.yml's `jira_sync_dashboard` entity), not in the procedures' zip:
streamlit_app.py with its neighbours queries.py (every query) and charts.py (every chart), and environment.yml
(its packages). The rest is local only: serve.py (`jira-sync dashboard`), sample.py (a warehouse with something
on every panel) and screenshot.py (the README's picture, taken with Chromium).
"""
