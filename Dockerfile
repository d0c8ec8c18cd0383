# The worker image used by docker-compose.yml (and any cluster deployment).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY models ./models
COPY streams ./streams
RUN pip install --no-cache-dir .
ENV CLAIMS_LOG_FORMAT=json CLAIMS_WEB_HOST=0.0.0.0 CLAIMS_STATE_DIR=/var/lib/claims-dispatch
ENTRYPOINT ["claims-dispatch"]
CMD ["worker"]
