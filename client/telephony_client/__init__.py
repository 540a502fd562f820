"""A small typed client for the telephony API (httpx), like the seed's "Python Client Example".

    from telephony_client import TelephonyClient
    with TelephonyClient("http://127.0.0.1:3000", api_key="tpk_...") as api:
        call = api.create_call("+14155550199", system_prompt="Be brief")
        print(api.call_details(call["call_id"]))

Retries 429 and 503 after `Retry-After` (bounded), and sends an `Idempotency-Key` on create-call,
so a retried create never places two calls.
"""

from telephony_client.client import ApiError, TelephonyClient

__all__ = ["ApiError", "TelephonyClient"]
