"""The webhooks domain's errors: each a machine code, its docstring (when it happens, quoted by
the OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import Conflict, Unprocessable
from app.core.i18n import N_


class WebhookUrlRefused(Unprocessable):
    """With `ENV=production` (and `WEBHOOK_ALLOW_PRIVATE` unset), the receiver's host does not
    resolve, or resolves to a loopback, private, link-local, multicast or reserved address."""

    code = "webhook_url_refused"
    detail = N_("Webhook receivers must be on public addresses.")


class DeliveryInProgress(Conflict):
    """Redelivering a webhook delivery that a worker is sending right now."""

    code = "webhook_delivery_in_progress"
    detail = N_("This delivery is being sent right now; try again in a minute.")
