"""Fixtures of the live-policy tests (see ``_helpers``)."""

from ._helpers import pg_database

__all__ = ["pg_database"]
