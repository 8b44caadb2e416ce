"""Factories for users, tokens and the other things tests need (a pytest plugin)."""
