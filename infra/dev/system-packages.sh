#!/usr/bin/env bash
# The Debian packages the tests use, installed when missing: `make test` runs this, and so does .ci/run.
#   kcat        the outside Kafka client the integration tests produce and consume with
#   chromium    the real browser the monthly HTML report is rendered in and the desk console is driven in
#   chromium-driver  chromedriver, through which the desk console test drives it (WebDriver)
#   prometheus  promtool for the alert rules and their unit tests, and a real server for the scrape test
#   postgresql  a PostgreSQL built with SSL for the TLS test (pgserver's is built without it)
#   maven, a JRE  resolve and run the project-managed Apache Kafka the suites also run on (streams/apache_kafka.py)
set -euo pipefail

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v promtool >/dev/null || missing+=(prometheus)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    echo "the tests need these Debian packages: ${missing[*]}; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing Debian packages the tests use: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
