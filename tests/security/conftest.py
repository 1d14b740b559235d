"""The secure system (TLS, basic and OpenID authentication, permissions) the tests share,
and the OpenID provider it trusts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from armada.config.dev import DevSettings
from armada.dev.embedded import EmbeddedArmada
from tests.security.support import PASSWORDS, Issuer, Pki, auth_settings, running_issuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, issuer: Issuer) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("pki")
    pki = Pki(folder)
    tls = {"certFile": str(pki.cert), "keyFile": str(pki.key)}
    settings = DevSettings.model_validate(
        {
            "grpc": {"host": "127.0.0.1", "port": 0, "tls": tls},
            "http": {"host": "127.0.0.1", "port": 0, "tls": tls},
            "storage": {"eventLog": "memory", "dataDir": str(folder / "data")},
            "auth": auth_settings(issuer.url).model_dump(by_alias=True),
            "clusters": 1,
            "executor": {
                "credentials": {"username": "exec", "password": PASSWORDS["exec"]},
                "schedulerTls": {"enabled": True, "caFile": str(pki.ca)},
            },
        }
    )
    with EmbeddedArmada(settings) as armada:
        yield armada, pki
