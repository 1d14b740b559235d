"""The two ways security refuses a call: unknown caller (401/UNAUTHENTICATED) and known caller
without the permission (403/PERMISSION_DENIED). Messages never quote a credential."""

from __future__ import annotations


class Unauthenticated(Exception):
    """No authenticator accepted the caller's credentials."""


class PermissionDenied(Exception):
    """The caller is known but lacks a permission; the message names it."""
