"""Every command a person runs: `--help` lists them all (and the README's table the same), each answers
bad arguments and a missing database or broker with one clear line and a non-zero exit, never a traceback."""

import re
import subprocess
from pathlib import Path

import pytest

from streams.cli import parser
from tests.conftest import CLI

ROOT = Path(__file__).resolve().parents[2]
ROSTER = ROOT / "streams/data/demo_roster.json"
#: Unreachable on purpose: nothing listens on port 1.
NOWHERE = {"CLAIMS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/claims", "CLAIMS_KAFKA_BOOTSTRAP": "127.0.0.1:1"}


def leaf_commands() -> list[tuple[str, ...]]:
    """Every runnable command, as its words (`roster load`, `dnc add`, ...)."""
    import argparse

    def walk(p: argparse.ArgumentParser, words: tuple[str, ...]):
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield words
        for action in subs:
            for name, sub in action.choices.items():
                yield from walk(sub, (*words, name))

    return list(walk(parser(), ()))


COMMANDS = leaf_commands()
#: The arguments each needs to get as far as its database or broker.
REQUIRED = {("roster", "load"): [str(ROSTER)], ("dnc", "add"): ["13800138000"], ("dnc", "remove"): ["13800138000"],
            ("report",): ["--month", "2026-11", "--no-publish"], ("desk", "token"): ["--dispatcher", "d-01"],
            ("desk", "serve"): [], ("topics", "acls"): ["--principal", "User:claims"]}


def run(words, env, *extra, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *words, *extra], env=env, capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_command_and_the_readme_table_names_the_same():
    out = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert {w[0] for w in COMMANDS} <= set(re.findall(r"\b[a-z]+\b", out.stdout))
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `claims-dispatch ([a-z]+(?: [a-z]+)?)", readme, re.M))
    documented = {" ".join(w) for w in COMMANDS}
    assert table == documented, f"README lacks {documented - table}, has extra {table - documented}"


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_each_command_answers_help_and_bad_arguments_without_a_traceback(words, cli_env):
    helped = run(words, cli_env, "--help", timeout=60)
    assert helped.returncode == 0 and "usage: claims-dispatch" in helped.stdout
    bad = run(words, cli_env, *REQUIRED.get(words, []), "--no-such-option", timeout=60)
    assert bad.returncode == 2 and "error: unrecognized arguments: --no-such-option" in bad.stderr
    assert "Traceback" not in bad.stderr


# `worker` is a service: it waits for its broker and database to come up (and retries), by design. `desk token`
# and `topics acls` (it prints commands) need neither; `demo` starts its own and refuses configured ones
# (test_the_demo_will_not_run_on_a_configured_broker_or_database). `desk serve` without tokens refuses to start before looking for either (one line too).
NEEDS_A_SERVICE = [w for w in COMMANDS if w not in (("worker",), ("schemas", "export"), ("desk", "token"),
                                                     ("topics", "acls"), ("demo",))]


@pytest.mark.parametrize("words", NEEDS_A_SERVICE, ids=" ".join)
def test_each_command_says_in_one_line_that_its_database_or_broker_cannot_be_reached(words, cli_env):
    out = run(words, dict(cli_env, **NOWHERE), *REQUIRED.get(words, []))
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    said = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(said) == 1, out.stderr
    assert "cannot" in said[0] or "no " in said[0], said[0]


def test_a_bad_setting_is_named_in_one_line(cli_env):
    out = run(("dnc", "count"), dict(cli_env, CLAIMS_DB_POOL_MAX="lots"), timeout=60)
    assert out.returncode == 2 and out.stderr.strip().startswith("claims-dispatch: CLAIMS_DB_POOL_MAX: ")
    assert "Traceback" not in out.stderr


def test_a_database_only_command_works_on_the_embedded_default_by_itself(cli_env):
    out = run(("dnc", "count"), cli_env)
    assert out.returncode == 0 and out.stdout.strip() == "0 number(s) on the do-not-call list", out.stderr
    report = run(("report",), cli_env, "--month", "2026-11")
    assert report.returncode == 0 and "report for 2026-11 (due 2026-12-07)" in report.stdout, report.stderr
    assert "not announced on reports.monthly: no Kafka broker" in report.stdout


def test_topics_create_needs_only_the_broker(stack, cli_env):
    """Run against an external broker with no database configured (the embedded one is not started)."""
    out = run(("topics", "create"), dict(cli_env, CLAIMS_KAFKA_BOOTSTRAP=stack.kafka_bootstrap))
    assert out.returncode == 0, out.stderr
    assert f"topics present on {stack.kafka_bootstrap} (new ones replicated " in out.stdout
    assert not (Path(cli_env["CLAIMS_STATE_DIR"]) / "pgdata").exists()


def test_topics_acls_prints_the_commands_that_give_a_worker_its_topics_and_group(cli_env):
    out = run(("topics", "acls"), dict(cli_env, CLAIMS_KAFKA_BOOTSTRAP="kafka-1:9093"), "--principal", "User:claims")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("kafka-acls.sh --bootstrap-server kafka-1:9093 ") for line in lines)
    assert "--topic hotline.reports" in lines[0] and "--topic hotline.reports.dlq" in lines[0]
    assert lines[1].endswith("--operation Read --group claims-dispatch")


def test_the_demo_will_not_write_into_a_configured_database(cli_env):
    """Its claims would be a live system's claims: one line, exit 2, nothing started."""
    out = run(("demo",), dict(cli_env, CLAIMS_DATABASE_URL="postgresql://x@db/claims"), "--reports", "5", timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip() == ("claims-dispatch: the demo runs on a database of its own and will not use "
                                  "CLAIMS_DATABASE_URL (a live system's); unset it, or feed a system with "
                                  "`claims-dispatch simulate`")
    assert not (Path(cli_env["CLAIMS_STATE_DIR"]) / "demo").exists()
