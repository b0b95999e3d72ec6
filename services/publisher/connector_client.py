"""The publisher's synchronous questions to the connector: what an account is, and a usable token for it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.contracts.connector import AccountDetail, AccountStatusOut, TokenOut
from shared.errors import PostifysError, TooManyRequests
from shared.internal import REQUEST_ID_HEADER, USER_HEADER
from shared.token_fingerprint import token_fingerprint


class ConnectorUnavailable(PostifysError):
    status_code = 503
    code = "connector_unavailable"
    message = "Connected accounts cannot be reached right now. Try again shortly."


class AccountUnusable(Exception):
    """The connector refused: the account needs reconnecting, is disconnected, or is not the user's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConnectorClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, auth: httpx.Auth) -> None:
        self.http = http
        self.base_url = base_url
        # Per request, not on the client: the same pooled client talks to the platforms.
        self.auth = auth

    async def _post(self, path: str, user_id: uuid.UUID, request_id: str | None = None,
                    extra: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
        try:
            response = await self.http.post(f"{self.base_url}{path}", json={"user_id": str(user_id), **(extra or {})},
                                            headers=headers, auth=self.auth)
        except httpx.HTTPError:
            raise ConnectorUnavailable() from None
        return self._read(response)

    @staticmethod
    def _read(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 500:
            raise ConnectorUnavailable()
        try:
            body = response.json()
        except ValueError:
            raise ConnectorUnavailable() from None
        error = (body.get("error") or {}) if response.status_code >= 400 else {}
        if response.status_code == 429:  # the platform's limit: the person may ask again, as the connector says
            raise TooManyRequests(str(error.get("message")), code=str(error.get("code")),
                                  headers={"Retry-After": response.headers.get("retry-after", "60")})
        if response.status_code >= 400:
            raise AccountUnusable(str(error.get("code")), str(error.get("message")))
        return body  # type: ignore[no-any-return]

    async def describe(self, user_id: uuid.UUID, account_id: uuid.UUID) -> AccountDetail:
        return AccountDetail.model_validate(await self._post(f"/internal/accounts/{account_id}/describe", user_id))

    async def access_token(self, user_id: uuid.UUID, account_id: uuid.UUID) -> str:
        issued = TokenOut.model_validate(await self._post(f"/internal/accounts/{account_id}/access-token", user_id))
        return issued.access_token

    async def token_rejected(self, user_id: uuid.UUID, account_id: uuid.UUID) -> str:
        """Asks the connector to check the account; answers its status after the check."""
        return AccountStatusOut.model_validate(
            await self._post(f"/internal/accounts/{account_id}/token-rejected", user_id)).status

    async def renew_token(self, user_id: uuid.UUID, account_id: uuid.UUID, rejected: str) -> str | None:
        """The platform refused `rejected` before its time: a token to try once more with, or None when the
        connector could not renew it (the account then needs reconnecting, or the connector is away)."""
        try:
            answer = await self._post(f"/internal/accounts/{account_id}/token-rejected", user_id,
                                      extra={"rejected": token_fingerprint(rejected)})
        except (AccountUnusable, ConnectorUnavailable):
            return None
        token = AccountStatusOut.model_validate(answer).access_token
        return token if token and token != rejected else None

    async def publishing_options(self, user_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Any]:
        try:
            response = await self.http.get(f"{self.base_url}/api/v1/accounts/{account_id}/publishing-options",
                                           headers={USER_HEADER: str(user_id)}, auth=self.auth)
        except httpx.HTTPError:
            raise ConnectorUnavailable() from None
        return self._read(response)
