# claude-runner: the runner image for GitLab CI jobs (`claude-runner gitlab`) and the webhook listener
# (`claude-runner webhook`). Build: docker build -t claude-runner .
# tests/packaging/test_dockerfile.py checks this file and runs its install steps in a venv;
# tests/packaging/test_image_build.py builds it for real with buildah (bench/image.py measures it).
#
# BASE_IMAGE: any Debian-like image with Python >= 3.11 as `python3` (with its venv module), apt-get
# and useradd. The build where no registry is reachable passes a Debian bookworm made with debootstrap
# (scripts/container_image.py).
ARG BASE_IMAGE=python:3.12-slim

# Stage 1: the venv, and git's files. Only /opt/claude-runner and /git-root leave this stage: no pip
# cache, no build context, no pip or setuptools in the venv (nothing installs into it at run time).
FROM ${BASE_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Extras: Bedrock and Vertex credentials, the webhook server, psycopg for listener replicas
# sharing a PostgreSQL store, and the OpenTelemetry SDK with its OTLP/HTTP exporter (a job cannot add
# an extra to the image; it loads only with CLAUDE_CODE_ENABLE_TELEMETRY; OTLP over gRPC is the
# `telemetry-grpc` extra, left out: a run asking for it says so in one line).
# Sizes (bench/README.md, uncompressed): 390 MB before; leaving out grpcio -19 MB, Perl -78 (below),
# bytecode that never runs -11, botocore's other models -21, symbols -7: 255 MB (86 compressed).
# binutils (this stage only): `strip` for the ripgrep wheel's `rg` (21 of its 26 MB are debug info)
# and the extension modules' symbol tables. git: its files are copied from here (below).
# python3-venv: Debian's Python needs it for `python3 -m venv` (python:*-slim bases have ensurepip).
# --no-compile, then container/build_stage.py slim-venv: bytecode only for the modules a run imports
# (found by importing them and by running `claude-runner demo` here; sources' mtimes rounded to the
# second first, or the copy below leaves every .pyc stale), botocore's API models only for the
# services credentials and Bedrock use (STS, SSO, sign-in, bedrock-runtime), stripped extensions.
# git-files: git's own files without Perl, and the names of the libraries it links (see the stage below).
COPY . /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils git \
    && { python3 -c "import ensurepip" 2>/dev/null || apt-get install -y --no-install-recommends python3-venv; } \
    && python3 -m venv /opt/claude-runner \
    && /opt/claude-runner/bin/pip install --no-cache-dir --no-compile "/src[bedrock,vertex,webhook,webhook-postgres,telemetry]" \
    && /opt/claude-runner/bin/pip uninstall --yes --quiet pip setuptools \
    && strip /opt/claude-runner/bin/rg \
    && cd /tmp && /opt/claude-runner/bin/python /src/container/build_stage.py slim-venv /opt/claude-runner \
    && python3 /src/container/build_stage.py git-files /git-root \
    && rm -rf /src

# Stage 2: the image.
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="claude-runner" \
      org.opencontainers.image.description="Run Claude as a headless agent in CI: @claude on GitHub and GitLab" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/your-org/claude-runner"

# git without Perl: Debian's git package depends on Perl (47 MB; with git, python3-venv and the
# translations, 78 MB of the image) for git-svn, send-email and the old `add -i`, none of which a
# run uses. Its libraries come from apt (the names stage 1 read from git's Depends), its own files
# from stage 1 (git, git-core's helpers such as git-remote-https and git-sh-setup, the templates):
# dpkg does not list git as installed, so `apt-get install git` in an image built FROM this one
# installs the whole package over these files.
# ca-certificates: HTTPS to GitLab and the model provider. bubblewrap: the OS sandbox the agent's
# Bash commands run in (it needs user namespaces: see the README's Security section for the
# container's options). No apt ripgrep: the package depends on the `ripgrep` wheel, which puts `rg`
# into the venv's bin (on PATH below), the same binary a pip install gets anywhere else.
COPY --from=build /git-root.packages /tmp/git-libraries
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates bubblewrap $(cat /tmp/git-libraries) \
    && rm -rf /var/lib/apt/lists/* /tmp/git-libraries
COPY --from=build /git-root/ /

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
