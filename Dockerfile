# One image for every Postifys process; docker-compose.yml picks the process with `command`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY deploy deploy
COPY sandbox sandbox
COPY docs/asyncapi.json docs/asyncapi.json
RUN pip install . && useradd --system --uid 10001 postifys \
    && mkdir -p /var/lib/postifys/media && chown postifys /var/lib/postifys/media
USER postifys
EXPOSE 8000
CMD ["python", "-m", "services.gateway"]
