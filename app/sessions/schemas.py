from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.core.schemas import ResponseModel


class TokenPair(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
