"""Helpers shared by the tests (imported as modules, never from conftest)."""
