"""Fixtures shared by every test directory."""

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def system_binary():
    """``system_binary(name, package)``: the path of a Debian-packaged program the test needs.

    Missing programs skip the test on a developer machine and fail it in CI (``CI=true``),
    where README's test command installs them.
    """
    def find(name: str, package: str) -> str:
        path = shutil.which(name)
        if path is None:
            message = f"{name} is not installed (apt-get install -y {package})"
            if os.environ.get("CI", "").lower() in ("true", "1"):
                pytest.fail(message)
            pytest.skip(message)
        return path

    return find
