"""Standard Webhooks signatures (https://www.standardwebhooks.com), made by the `standardwebhooks`
package, the scheme's reference implementation, so receivers can verify with the same code.

The secret is `whsec_` + base64 of 32 random bytes. Each delivery carries `webhook-id` (the
outbox event's id: the same on every retry and redelivery, so a receiver can drop duplicates),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`).
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three headers of one attempt. `at` is the wall-clock time of sending (receivers
    refuse timestamps more than 5 minutes away from their own clock)."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
