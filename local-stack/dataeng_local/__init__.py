"""The local stack behind ``dataeng-local``: stand-ins for Snowflake and S3 plus a demo source API.

Each service runs as its own process (``python -m dataeng_local.<service>``) so the
stack can be started by the CLI, by :class:`~dataeng_local.stack.LocalStack` in Python,
or by the ``local_stack`` pytest fixture, and always looks the same to Airflow: plain connections
(``AIRFLOW_CONN_*``) pointing at 127.0.0.1. Operators and hooks never import this package.
"""
