"""Helpers shared by the tests: test modules import from here or conftest, never from
another test module (tests/test_layout.py checks it)."""
