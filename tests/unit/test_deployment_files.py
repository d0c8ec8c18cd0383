"""docker-compose.yml cannot run on this machine (no Docker engine); these checks keep it honest."""

from pathlib import Path

import yaml

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_kafka_postgres_workers_and_prometheus():
    services = COMPOSE["services"]
    assert {"kafka", "postgres", "setup", "worker", "prometheus"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] > 1
    for name in ("kafka", "postgres", "prometheus"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name} image must be pinned"
    assert "KRaft" in (ROOT / "docker-compose.yml").read_text()
    assert "healthcheck" in services["kafka"] and "healthcheck" in services["postgres"]


def test_compose_pins_the_apache_kafka_the_suites_run():
    from streams.apache_kafka import DEFAULT_VERSION, VERSIONS

    image = COMPOSE["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{DEFAULT_VERSION}" and DEFAULT_VERSION in VERSIONS


def test_compose_configures_workers_with_real_settings():
    """Every CLAIMS_ variable a service sets names a setting (a nested one through ``__``)."""
    for name, service in COMPOSE["services"].items():
        for var in service.get("environment") or {}:
            if var.startswith("CLAIMS_"):
                model, path = Settings, var[len("CLAIMS_"):].lower().split("__")
                for part in path:
                    assert part in model.model_fields, f"{name}: {var} is not a setting"
                    model = model.model_fields[part].annotation


def test_prometheus_scrapes_the_workers_metrics_port():
    config = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["dns_sd_configs"][0]["port"] == Settings().web_port


def test_compose_runs_grafana_with_the_provisioning_and_prometheus_with_the_rules():
    services = COMPOSE["services"]
    mounts = " ".join(services["grafana"]["volumes"])
    assert "infra/grafana/provisioning" in mounts and "infra/grafana/dashboards" in mounts
    assert services["grafana"]["image"].startswith("grafana/grafana:11.")
    config = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert "./infra/prometheus:/etc/prometheus" in " ".join(services["prometheus"]["volumes"])
