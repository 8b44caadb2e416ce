# syntax=docker/dockerfile:1
#
# Production image of the Movie Meetup backend: one image, three roles chosen by the command
# (`meetup serve` by default, `meetup worker`, `meetup migrate`). See docker-compose.yml.
#
# The embedded PostgreSQL and Valkey of `meetup dev` are the `embedded` extra and stay out of the
# image, so it builds for any architecture the Python base image has.

ARG PYTHON_IMAGE=python:3.13-slim

# ---------------------------------------------------------------------------------------------
# builder: a self-contained virtualenv in /opt/venv with the app and its runtime dependencies.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Same path as in the runtime stage: the venv's scripts carry it in their shebang lines.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# README* is a glob so the build works whether or not the readme named in pyproject.toml exists.
COPY pyproject.toml constraints.txt README* ./
COPY app ./app
# No extras: [embedded], [test] and [dev] stay out of the production image. The versions are
# constraints.txt's, the ones CI tested.
RUN pip install -c constraints.txt .

# ---------------------------------------------------------------------------------------------
# runtime: the venv, the migrations and nothing to build with.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=8000 \
    ENV=production \
    LOG_FORMAT=json

RUN groupadd --system --gid 10001 meetup \
 && useradd --system --uid 10001 --gid meetup --no-create-home --home-dir /app \
            --shell /usr/sbin/nologin meetup

COPY --from=builder /opt/venv /opt/venv

# `meetup migrate` looks for alembic.ini (and the migrations/ it points to) in the working directory.
# Files stay owned by root: the app only reads them.
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations

USER meetup:meetup

EXPOSE 8000

# python:slim has no curl or wget. This check suits `meetup serve`; docker-compose.yml gives the
# worker its own check and switches it off for the one-shot migrate container.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["meetup", "serve"]
