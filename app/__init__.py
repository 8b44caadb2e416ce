"""Movie Meetup: a self-hostable backend for watching films together."""

__version__ = "0.1.0"
