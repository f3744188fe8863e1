"""The Worker's msgpack is one release everywhere: pyproject, uv.lock, the local runtime's build, the tests, Pyodide."""

import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def locked_msgpack() -> dict:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(package for package in lock["package"] if package["name"] == "msgpack")


def test_pyproject_pins_the_msgpack_uv_lock_holds():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"msgpack=={locked_msgpack()['version']}" in dependencies


def test_the_local_runtime_builds_the_sdist_uv_lock_pins():
    package = locked_msgpack()
    lines = (ROOT / "runtime" / "msgpack-requirements.txt").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        f"msgpack=={package['version']} --hash={package['sdist']['hash']}"
    ]


def test_the_unit_tests_decode_with_the_same_release():
    assert f"msgpack=={locked_msgpack()['version']}" in (ROOT / "requirements-dev.txt").read_text().splitlines()


def test_pyodide_ships_a_build_of_that_release_for_production():
    lock = json.loads((ROOT / "node_modules" / "pyodide" / "pyodide-lock.json").read_text())
    assert lock["packages"]["msgpack"]["version"] == locked_msgpack()["version"]
