"""Webhooks: admins register receivers for outbox events; the worker delivers them, signed."""
