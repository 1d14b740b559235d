"""armadactl's configuration file: named contexts, each an Armada server and how to log in.

    currentContext: main
    contexts:
      main:
        armadaUrl: armada.example.com:50051
        basicAuth:
          username: alice
          password: secret
        caFile: /etc/armada/ca.pem        # TLS, trusting this CA
      service:
        armadaUrl: armada.example.com:50051
        useTls: true
        openIdClientCredentialsAuth:      # or openIdDeviceAuth: {providerUrl, clientId, scopes}
          providerUrl: https://sso.example.com/realms/armada
          clientId: my-service
          clientSecret: s3cret
          scopes: [armada]
      plugin:
        armadaUrl: armada.example.com:50051
        execAuth:                         # a command that prints a bearer token
          cmd: get-armada-token
          args: [--audience, armada]
          env: [{name: PROFILE, value: prod}]
      local:
        armadaUrl: localhost:50051

A file without ``contexts`` is one unnamed context (Armada's older format: ``armadaUrl`` and
``basicAuth`` at the top level). The default file is ``$HOME/.armadactl.yaml``; it need not exist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armada.client import FileError
from armada.client.credentials import (
    ClientCredentialsToken,
    DeviceFlowToken,
    ExecToken,
    TokenSource,
)
from armada.client.kubernetes_token import KubernetesNativeToken
from armada.client.yaml_documents import key_line, load_yaml_documents
from armada.client.yaml_messages import describe

_CONTEXT_KEYS = {
    "armadaurl",
    "basicauth",
    "forcenotls",
    "usetls",
    "cafile",
    "binocularsurl",
    "timeout",
    "openidclientcredentialsauth",
    "openiddeviceauth",
    "execauth",
    # Armada's other authentication kinds: recognised so that the error says what is missing.
    "openidconnect",
    "openidauth",
    "openidpasswordauth",
    "openidkubernetesauth",
    "kerberos",
    "kubernetesnativeauth",
    "armadaresturl",
    "cacherefreshtoken",
}
_UNSUPPORTED_AUTH = {
    "openidconnect",
    "openidauth",
    "openidpasswordauth",
    "openidkubernetesauth",
    "kerberos",
}


def default_config_path() -> Path:
    return Path(os.path.expanduser("~")) / ".armadactl.yaml"


@dataclass(frozen=True)
class Context:
    """One named server: where it is and how to authenticate."""

    name: str
    armada_url: str = ""
    username: str = ""
    password: str = ""
    use_tls: bool = False
    ca_file: str = ""
    binoculars_url: str = ""
    token_source: TokenSource | None = None
    unsupported_auth: tuple[str, ...] = ()


@dataclass
class Config:
    path: Path
    exists: bool
    current: str = ""
    contexts: dict[str, Context] = field(default_factory=dict)

    def context(self, name: str | None) -> Context | None:
        """The named context, else the current one, else the file's only one; an unknown name
        is a FileError that lists the ones defined."""
        wanted = name or self.current
        if wanted:
            if wanted not in self.contexts:
                defined = ", ".join(sorted(self.contexts)) or "none"
                raise FileError(
                    f"context {wanted!r} is not defined (defined: {defined})", path=str(self.path)
                )
            return self.contexts[wanted]
        if len(self.contexts) == 1:
            return next(iter(self.contexts.values()))
        return None


def load_config(path: Path | None) -> Config:
    """The file at ``path`` (which must exist), or the default file if there is one."""
    explicit = path is not None
    path = path or default_config_path()
    if not path.is_file():
        if explicit:
            raise FileError("no such file", path=str(path))
        return Config(path=path, exists=False)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileError(f"cannot read: {exc}", path=str(path)) from None
    documents = load_yaml_documents(text, str(path))
    if not documents:
        return Config(path=path, exists=True)
    document = documents[0]
    if not isinstance(document, dict):
        raise FileError(f"expected a mapping, got {describe(document)}", path=str(path), line=1)
    return _parse(document, path)


def _parse(document: Any, path: Path) -> Config:
    config = Config(path=path, exists=True, current=str(document.get("currentContext") or ""))
    contexts = document.get("contexts")
    if contexts is None:
        flat = {k: v for k, v in document.items() if k != "currentContext"}
        if flat:
            config.contexts[""] = _context("", flat, document, path)
        return config
    if not isinstance(contexts, dict):
        line = key_line(document, "contexts", 1)
        raise FileError(
            f"contexts: expected a mapping of names to contexts, got {describe(contexts)}",
            path=str(path),
            line=line,
        )
    for name, body in contexts.items():
        if not isinstance(body, dict):
            line = key_line(contexts, name, 1)
            raise FileError(
                f"contexts.{name}: expected a mapping, got {describe(body)}",
                path=str(path),
                line=line,
            )
        config.contexts[str(name)] = _context(str(name), body, body, path)
    return config


def _context(name: str, body: dict[str, Any], lines: Any, path: Path) -> Context:
    where = f"contexts.{name}." if name else ""
    for key in body:
        if str(key).lower() not in _CONTEXT_KEYS:
            raise FileError(
                f"{where}{key}: unknown setting", path=str(path), line=key_line(lines, key, 1)
            )
    values = {str(k).lower(): v for k, v in body.items()}
    auth = values.get("basicauth") or {}
    if not isinstance(auth, dict):
        raise FileError(
            f"{where}basicAuth: expected username and password",
            path=str(path),
            line=key_line(lines, "basicAuth", 1),
        )
    ca_file = str(values.get("cafile") or "")
    return Context(
        name=name,
        armada_url=str(values.get("armadaurl") or ""),
        username=str(auth.get("username") or ""),
        password=str(auth.get("password") or ""),
        use_tls=(bool(values.get("usetls")) or bool(ca_file))
        and not bool(values.get("forcenotls")),
        ca_file=ca_file,
        binoculars_url=str(values.get("binocularsurl") or ""),
        token_source=_token_source(values, where, lines, path),
        unsupported_auth=tuple(sorted(k for k in values if k in _UNSUPPORTED_AUTH)),
    )


def _section(values: dict[str, Any], key: str, where: str, lines: Any, path: Path) -> Any:
    body = values.get(key)
    if body is None:
        return None
    if not isinstance(body, dict):
        raise FileError(
            f"{where}{key}: expected a mapping, got {describe(body)}",
            path=str(path),
            line=key_line(lines, key, 1),
        )
    return {str(k).lower(): v for k, v in body.items()}


def _required(body: dict[str, Any], key: str, section: str, where: str, path: Path) -> str:
    value = body.get(key.lower())
    if not value:
        raise FileError(f"{where}{section}.{key}: required", path=str(path))
    return str(value)


def _token_source(values: dict[str, Any], where: str, lines: Any, path: Path) -> TokenSource | None:
    """The bearer-token source the context configures (at most one), or None."""
    kinds = ("openidclientcredentialsauth", "openiddeviceauth", "execauth", "kubernetesnativeauth")
    given = [k for k in kinds if k in values]
    if len(given) > 1:
        raise FileError(f"{where}: give one of {', '.join(given)}", path=str(path))
    clients = _section(values, "openidclientcredentialsauth", where, lines, path)
    if clients is not None:
        name = "openIdClientCredentialsAuth"
        return ClientCredentialsToken(
            _required(clients, "providerUrl", name, where, path),
            _required(clients, "clientId", name, where, path),
            _required(clients, "clientSecret", name, where, path),
            [str(s) for s in clients.get("scopes") or ()],
        )
    device = _section(values, "openiddeviceauth", where, lines, path)
    if device is not None:
        name = "openIdDeviceAuth"
        return DeviceFlowToken(
            _required(device, "providerUrl", name, where, path),
            _required(device, "clientId", name, where, path),
            [str(s) for s in device.get("scopes") or ()],
        )
    native = _section(values, "kubernetesnativeauth", where, lines, path)
    if native is not None and native.get("enabled", True):
        expiry = native.get("expiry", 3600)
        if not isinstance(expiry, int) or isinstance(expiry, bool) or expiry < 600:
            raise FileError(
                f"{where}kubernetesNativeAuth.expiry: seconds, at least 600 (Kubernetes' least)",
                path=str(path),
            )
        return KubernetesNativeToken(expiry)
    plugin = _section(values, "execauth", where, lines, path)
    if plugin is not None:
        env = {str(e.get("name")): str(e.get("value", "")) for e in plugin.get("env") or ()}
        return ExecToken(
            _required(plugin, "cmd", "execAuth", where, path),
            [str(a) for a in plugin.get("args") or ()],
            env,
            interactive=bool(plugin.get("interactive")),
        )
    return None


_CURRENT_LINE = re.compile(r"^currentContext\s*:.*$", re.MULTILINE)


def set_current_context(config: Config, name: str) -> None:
    """Make ``name`` the current context, keeping the rest of the file (comments too)."""
    if name not in config.contexts or not name:
        defined = ", ".join(sorted(n for n in config.contexts if n)) or "none"
        raise FileError(
            f"context {name!r} is not defined (defined: {defined})", path=str(config.path)
        )
    text = config.path.read_text(encoding="utf-8")
    line = f"currentContext: {name}"
    if _CURRENT_LINE.search(text):
        text = _CURRENT_LINE.sub(line, text, count=1)
    else:
        text = f"{line}\n{text}"
    config.path.write_text(text, encoding="utf-8")
    config.current = name
