# claude-runner: the runner image for GitLab CI jobs (`claude-runner gitlab`) and the webhook listener
# (`claude-runner webhook`). Build: docker build -t claude-runner .
# tests/packaging/test_dockerfile.py checks this file and runs its install steps in a venv;
# tests/packaging/test_image_build.py builds it for real with buildah (bench/image.py measures it).
#
# BASE_IMAGE: any Debian-like image with Python >= 3.11 as `python3` (with its venv module), apt-get
# and useradd. The build where no registry is reachable passes a Debian bookworm made with debootstrap
# (scripts/container_image.py).
ARG BASE_IMAGE=python:3.12-slim

# Stage 1: the venv. Only /opt/claude-runner leaves this stage: no pip cache, no build context,
# no pip or setuptools in the venv (nothing installs into it at run time).
FROM ${BASE_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Extras: Bedrock and Vertex credentials, the webhook server, psycopg for listener replicas
# sharing a PostgreSQL store, and the OpenTelemetry SDK (a job cannot add an extra to the image;
# it loads only with CLAUDE_CODE_ENABLE_TELEMETRY).
# binutils (this stage only): the ripgrep wheel's `rg` carries its debug info, 21 of its 26 MB.
COPY . /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && python3 -m venv /opt/claude-runner \
    && /opt/claude-runner/bin/pip install --no-cache-dir "/src[bedrock,vertex,webhook,webhook-postgres,telemetry]" \
    && /opt/claude-runner/bin/pip uninstall --yes --quiet pip setuptools \
    && strip /opt/claude-runner/bin/rg \
    && rm -rf /src

# Stage 2: the image.
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="claude-runner" \
      org.opencontainers.image.description="Run Claude as a headless agent in CI: @claude on GitHub and GitLab" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/your-org/claude-runner"

# git: the runner clones, branches, commits and pushes. ca-certificates: HTTPS to GitLab and the
# model provider. bubblewrap: the OS sandbox the agent's Bash commands run in (it needs user
# namespaces: see the README's Security section for the container's options). No apt ripgrep: the
# package depends on the `ripgrep` wheel, which puts `rg` into the venv's bin (on PATH below), the
# same binary a pip install gets anywhere else.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates bubblewrap \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/claude-runner/bin:$PATH

# The venv from stage 1; its interpreter is this image's python3, the same as stage 1's.
COPY --from=build /opt/claude-runner /opt/claude-runner

# Never run as root: the agent's tools run shell commands in the checked-out repository.
# A numeric USER lets Kubernetes' runAsNonRoot verify it. GitLab's helper clones the job's checkout as
# another user, and git refuses to work in a repository someone else owns ("dubious ownership"); in a
# single-purpose container that check protects nobody, so it is turned off system-wide.
# The listener's default store is /home/claude/.local/state/claude-runner/webhook.sqlite3: the
# directory exists and is the user's, so a volume mounted there is writable.
RUN git config --system --add safe.directory '*' \
    && useradd --create-home --uid 10001 --user-group claude \
    && mkdir -p /workspace /home/claude/.local/state \
    && chown claude:claude /workspace \
    && chown -R claude:claude /home/claude/.local
USER 10001:10001
WORKDIR /workspace

# Webhook mode listens here: docker run -p 8080:8080 -e GITLAB_WEBHOOK_SECRET=... -e GITLAB_ACCESS_TOKEN=...
#   -v claude-runner-state:/home/claude/.local/state claude-runner webhook --host 0.0.0.0 --port 8080
# (the volume keeps accepted hooks across container restarts; examples/gitlab-listener/compose.yml runs
# two replicas on PostgreSQL).
EXPOSE 8080

ENTRYPOINT ["claude-runner"]
CMD ["--help"]
