"""The bookings tests use `make_announcement` from tests/support/meetups.py."""

from tests.support.meetups import MakeAnnouncement

__all__ = ["MakeAnnouncement"]
