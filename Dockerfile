# syntax=docker/dockerfile:1
# The Airflow image of docker-compose.yaml: the official Airflow 3 image plus airflow-provider-dataeng[dbt,local,postgres]
# (the provider and dataeng-local, the local stack of local-stack/), with every dependency at the version uv.lock
# pins (the versions the test suite runs).
#
#   docker compose build            (or: docker build -t airflow-provider-dataeng:local .)
#
# Why a lock export and not `pip install ".[dbt,local,postgres]" -c constraints`: the lock pins the whole dependency
# closure (233 packages, with hashes), so every build installs the same files that `make test` tested. Airflow's
# constraints file only covers Airflow's own closure, so dbt, fakesnow, duckdb, moto and friends would float.
# The export is installed with --no-deps: the lock is already a complete, resolved set, and nothing is
# re-resolved against whatever happens to be on PyPI on build day. Packages of the base image outside our
# closure (celery, postgres and the other providers the image ships) stay as the image has them.
#
# Keep the tags in step: the airflow FROM lines carry the Airflow and Python versions uv.lock pins, and the uv
# image tag is the Makefile's UV_VERSION (tests/test_compose.py checks both).

# -- 1. export uv.lock to a hashed requirements file (needs only pyproject.toml and uv.lock) -------------------
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM apache/airflow:3.3.2-python3.11 AS requirements
COPY --from=uv /uv /tmp/uv/uv
COPY pyproject.toml uv.lock /tmp/lock/
COPY local-stack/pyproject.toml /tmp/lock/local-stack/
# --frozen: use uv.lock as it is (never re-lock); --offline: nothing is fetched for the export;
# --no-emit-workspace: our two distributions are installed from the sources below, not from the export.
RUN /tmp/uv/uv export --project /tmp/lock --frozen --offline --no-cache --no-dev --extra dbt --extra local --extra postgres \
        --no-emit-project --no-emit-workspace --format requirements-txt --output-file /tmp/requirements.txt --quiet

# -- 2. the image ------------------------------------------------------------------------------------------------
FROM apache/airflow:3.3.2-python3.11

# Exactly the locked versions; hashes are checked (--require-hashes), nothing else is resolved (--no-deps).
COPY --from=requirements /tmp/requirements.txt /opt/dataeng/requirements.txt
RUN pip install --no-cache-dir --no-deps --require-hashes -r /opt/dataeng/requirements.txt

# The provider and the local stack themselves (their dependencies are all in the layer above).
COPY --chown=airflow:0 pyproject.toml README.md /opt/dataeng/src/
COPY --chown=airflow:0 airflow_provider_dataeng /opt/dataeng/src/airflow_provider_dataeng
COPY --chown=airflow:0 local-stack/pyproject.toml local-stack/README.md /opt/dataeng/src/local-stack/
COPY --chown=airflow:0 local-stack/dataeng_local /opt/dataeng/src/local-stack/dataeng_local
RUN pip install --no-cache-dir --no-deps /opt/dataeng/src /opt/dataeng/src/local-stack

# Fail the build, not the first task, if the overlay broke anything this stack runs: the provider, the
# Snowflake/S3 hooks, dbt, Celery and its Redis client, the Postgres driver and the local stand-ins must import.
# `pip check` then lists any version conflict left with other packages of the base image, for review.
RUN AIRFLOW_HOME=/tmp/airflow-build-check python -c "import airflow_provider_dataeng, \
dataeng_local.snowflake, dataeng_local.demo_api.app, \
airflow.providers.snowflake.hooks.snowflake, airflow.providers.amazon.aws.hooks.s3, \
airflow.providers.celery, celery, redis, psycopg2, dbt.cli.main, dbt.adapters.snowflake, moto.server, s3fs; \
print('provider', airflow_provider_dataeng.__version__, 'imports OK')" \
    && rm -rf /tmp/airflow-build-check \
    && (pip check || echo "pip check: conflicts listed above (the imports this stack needs passed)")

# Local-only login for Airflow's SimpleAuthManager (user admin, password admin; see docker-compose.yaml).
# It must stay writable: Airflow appends generated passwords for users that are not in it.
COPY --chown=airflow:0 --chmod=664 docker/simple_auth_manager_passwords.json /opt/airflow/simple_auth_manager_passwords.json

# Data directory of the Snowflake stand-in: a named volume mounted here inherits this owner and mode, so the
# container can write it under any AIRFLOW_UID (group 0, as in the rest of the Airflow image).
USER 0
RUN install -d -o airflow -g 0 -m 2775 /data/snowflake
# Back to the base image's user (airflow, uid 50000).
USER 50000
