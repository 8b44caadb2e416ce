"""Fixtures of these tests come from tests/support (meetups, make_announcement)."""
