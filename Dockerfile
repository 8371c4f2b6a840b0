# nstsite image: the same code runs the web tier and the workers; the command picks the role.
#
#   docker build -t nstsite:cpu .                          # CPU-only PyTorch (~1 GB smaller)
#   docker build -t nstsite:cuda --build-arg TORCH=cuda .  # CUDA PyTorch (PyPI's default Linux wheels)
#
# The CUDA variant needs no CUDA base image: PyPI's torch wheels bring their CUDA libraries, and the
# NVIDIA container runtime provides the driver (see compose.yaml's worker-gpu). Roles:
#   web:     the default CMD (waitress on :8000); run `python manage.py migrate` once per release first
#   workers: python manage.py rqworker <queues> --worker-class nstsite.worker.WarmWorker
# See docs/deploy.md for queues, sizing and running N workers on M hosts.

ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm

# cpu: torch/torchvision from PyTorch's CPU wheel index; cuda: PyPI's (CUDA) wheels.
ARG TORCH=cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    NSTSITE_WEIGHTS_DIR=/data/weights \
    TORCH_HOME=/data/torch \
    NSTSITE_VAR_DIR=/data/var \
    MEDIA_ROOT=/data/media \
    DEBUG=false

WORKDIR /app

# Install exactly as the Makefile does: requirements.txt, then requirements-nodeps.txt with
# --no-deps (facenet-pytorch's declared pins are stale). On the CPU variant torch and torchvision
# come first from the CPU index; requirements.txt's `torch==2.14.1` is then already satisfied by
# `2.14.1+cpu`, so pip keeps it.
COPY requirements.txt requirements-nodeps.txt ./
RUN set -eux; \
    if [ "$TORCH" = "cpu" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu \
            "torch==$(sed -n 's/^torch==//p' requirements.txt)" \
            "torchvision==$(sed -n 's/^torchvision==//p' requirements.txt)"; \
    elif [ "$TORCH" != "cuda" ]; then \
        echo "TORCH must be cpu or cuda, not $TORCH" >&2; exit 1; \
    fi; \
    pip install -r requirements.txt; \
    pip install --no-deps -r requirements-nodeps.txt

COPY . .

# Static files are collected at build time (whitenoise serves them). With both addresses set,
# manage.py starts no embedded PostgreSQL or Redis; collectstatic connects to neither.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0

# Run as an ordinary user; /data holds weights and (without object storage) media.
RUN useradd --create-home --uid 10001 nstsite \
    && mkdir -p /data/weights /data/torch /data/var /data/media \
    && chown -R nstsite:nstsite /data
USER nstsite
VOLUME ["/data"]

EXPOSE 8000
# Web role. Migrations are a separate one-off step (`python manage.py migrate`; compose.yaml's
# `migrate` service), so that several web replicas never race to apply them.
CMD ["sh", "-c", "exec python -m waitress --host=0.0.0.0 --port=8000 --threads=${WEB_THREADS:-8} --ident=nstsite config.wsgi:application"]
