"""Every DynamoDB key format of the application, in one place."""

from __future__ import annotations

import hashlib
import re

from telephony.errors import NotFound

ITEM = "ITEM"  # the sort key of an entity's main item

# What an id of ours can look like (telephony.util.new_id makes `<prefix>_` and 26 characters). A path id that
# cannot be one is refused here, before any read: DynamoDB would refuse an oversized key with a
# ValidationException, which is not the caller's 404.
_ID_BODY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _id(prefix: str, value: str, what: str) -> str:
    if not (value.startswith(prefix + "_") and _ID_BODY.fullmatch(value[len(prefix) + 1 :])):
        raise NotFound(f"no such {what}")
    return value


def owner_partition(owner_id: str) -> str:
    """The `by_owner` index partition of every table: one user's items, newest first."""
    return f"OWNER#{owner_id}"


def api_key(key_id: str) -> dict[str, str]:
    return {"pk": f"KEY#{_id('ak', key_id, 'API key')}"}


def api_key_count(owner_id: str) -> dict[str, str]:
    """How many active keys a user holds: counted as keys are made and revoked."""
    return {"pk": f"KEYCOUNT#{owner_id}"}


def api_key_owner(owner_id: str, created_at: str, key_id: str) -> dict[str, str]:
    return {"gsi1pk": owner_partition(owner_id), "gsi1sk": f"{created_at}#{key_id}"}


def rate_window(budget: str, subject: str, window_start: int) -> dict[str, str]:
    return {"pk": f"RL#{budget}#{subject}#{window_start}"}


def request(request_id: str) -> dict[str, str]:
    return {"pk": f"REQUEST#{_id('req', request_id, 'phone-number request')}", "sk": ITEM}


def request_owner(owner_id: str, created_at: str, request_id: str) -> dict[str, str]:
    return {"gsi1pk": owner_partition(owner_id), "gsi1sk": f"{created_at}#{request_id}"}


def request_status_partition(status: str) -> str:
    return f"STATUS#{status}"


def request_status(status: str, created_at: str, request_id: str) -> dict[str, str]:
    return {"gsi2pk": request_status_partition(status), "gsi2sk": f"{created_at}#{request_id}"}


def number(phone_number_id: str) -> dict[str, str]:
    return {"pk": f"NUMBER#{_id('pn', phone_number_id, 'phone number')}", "sk": ITEM}


def number_owner(owner_id: str, created_at: str, phone_number_id: str) -> dict[str, str]:
    return {"gsi1pk": owner_partition(owner_id), "gsi1sk": f"{created_at}#{phone_number_id}"}


def agent_numbers(owner_id: str, agent_id: str) -> str:
    """The `by_agent` partition of one owner's agent."""
    return f"OWNER#{owner_id}#AGENT#{agent_id}"


def number_agent(owner_id: str, agent_id: str, created_at: str, phone_number_id: str) -> dict[str, str]:
    """Set on a number while it is registered to an agent (the sparse `by_agent` index), removed after."""
    return {"gsi2pk": agent_numbers(owner_id, agent_id), "gsi2sk": f"{created_at}#{phone_number_id}"}


AGENT_KEYS = ("gsi2pk", "gsi2sk")


def number_claim(e164: str) -> dict[str, str]:
    """One item per E.164 number, held by its open request or its owner: uniqueness by conditional put."""
    return {"pk": f"E164#{e164}", "sk": "CLAIM"}


def agent_name(name: str) -> dict[str, str]:
    """One item per agent name, held by the account that first used it."""
    return {"pk": f"AGENTNAME#{name}", "sk": "CLAIM"}


def call(call_id: str) -> dict[str, str]:
    return {"pk": f"CALL#{_id('call', call_id, 'call')}", "sk": ITEM}


# Outbound calls keep the `by_owner` and `by_owner_status` partitions they always had (the seed's lists read them and
# must show no inbound call); inbound calls have partitions of their own in the same indexes.
_INBOUND = "#INBOUND"


def call_partition(owner_id: str, direction: str = "outbound") -> str:
    """The `by_owner` partition of one user's calls in one direction, newest first."""
    return owner_partition(owner_id) + (_INBOUND if direction == "inbound" else "")


def call_owner(owner_id: str, created_at: str, call_id: str, direction: str = "outbound") -> dict[str, str]:
    return {"gsi1pk": call_partition(owner_id, direction), "gsi1sk": call_sort(created_at, call_id)}


def call_sort(created_at: str, call_id: str) -> str:
    """The sort key of a call in every index: its creation time, then its id."""
    return f"{created_at}#{call_id}"


def call_status_partition(owner_id: str, status: str, direction: str = "outbound") -> str:
    return f"OWNER#{owner_id}{_INBOUND if direction == 'inbound' else ''}#STATUS#{status}"


def call_owner_status(
    owner_id: str, status: str, created_at: str, call_id: str, direction: str = "outbound"
) -> dict[str, str]:
    return {"gsi2pk": call_status_partition(owner_id, status, direction), "gsi2sk": call_sort(created_at, call_id)}


def room_partition(room_name: str) -> str:
    """The calls LiveKit put in a room our dispatch rule made: how the room's later events find them."""
    return f"ROOM#{room_name}"


def room_call(room_name: str, call_id: str) -> dict[str, str]:
    return {"pk": room_partition(room_name), "sk": f"CALL#{call_id}"}


SEGMENT_PREFIX = "SEG#"


def call_segment(call_id: str, at: str, index: str) -> dict[str, str]:
    return {"pk": f"CALL#{call_id}", "sk": f"{SEGMENT_PREFIX}{at}#{index}"}


def call_event(call_id: str, event_id: str) -> dict[str, str]:
    """A marker that a LiveKit webhook event was applied: written with the change it made."""
    return {"pk": f"CALL#{call_id}", "sk": f"EVENT#{event_id}"}


def call_post(call_id: str, digest: str) -> dict[str, str]:
    """A marker of an events post whose segments came without times: the time they were given."""
    return {"pk": f"CALL#{call_id}", "sk": f"POST#{digest}"}


# The recordings still being made, spread over this many partitions (a recording's partition: its call id's hash), so
# that starting and ending recordings never crowd one partition; the reconcile of lost egress ends reads them all.
RECORDING_SHARDS = 8


def recording_partition(shard: int) -> str:
    return f"RECORDINGS#{shard}"


def recording_pending(call_id: str) -> dict[str, str]:
    """Marks a call whose recording is being made, until LiveKit says how it ended."""
    shard = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:2], "big") % RECORDING_SHARDS
    return {"pk": recording_partition(shard), "sk": f"CALL#{call_id}"}


def event(event_id: str) -> dict[str, str]:
    """An event in the outbox, written with the change it tells of."""
    return {"pk": f"EVENT#{_id('ev', event_id, 'event')}"}


def webhook(owner_id: str, webhook_id: str) -> dict[str, str]:
    """A webhook under its owner: another user's id finds nothing."""
    return {"pk": owner_partition(owner_id), "sk": f"WEBHOOK#{_id('wh', webhook_id, 'webhook')}"}


WEBHOOK_PREFIX = "WEBHOOK#"


def webhook_count(owner_id: str) -> dict[str, str]:
    return {"pk": owner_partition(owner_id), "sk": "WEBHOOKCOUNT"}


def delivery(webhook_id: str, delivery_id: str) -> dict[str, str]:
    """An attempt to deliver an event, under its webhook; ids sort by time."""
    return {"pk": f"WEBHOOK#{webhook_id}", "sk": f"DELIVERY#{_id('dl', delivery_id, 'delivery')}"}


def webhook_deliveries(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


def stats_partition(owner_id: str) -> str:
    return f"STATS#{owner_id}"


def stats_total(owner_id: str) -> dict[str, str]:
    return {"pk": stats_partition(owner_id), "sk": "TOTAL"}


def stats_hour(owner_id: str, hour_start: int) -> dict[str, str]:
    return {"pk": stats_partition(owner_id), "sk": f"HOUR#{hour_start:012d}"}


# ---------------------------------------------------------------- accounts (AccountsTable)

_USER_ID = re.compile(r"[A-Za-z0-9._:@|+-]{1,128}")


def user(user_id: str) -> str:
    """A user id named by an admin in a path: what an identity provider's subject can look like (a Cognito sub,
    an issuer's own ids), else no such user."""
    if not _USER_ID.fullmatch(user_id):
        raise NotFound("no such user")
    return user_id


# The operator's do-not-call list, beside each account's own. An account's id is never empty (the authorizer refuses
# one), while a JWT's `sub` may be any other text, "GLOBAL" included: so no account's list can be this one.
GLOBAL_DNC = ""


def account(owner_id: str, part: str) -> dict[str, str]:
    """One of an account's items: `LIMITS`, `SETTINGS`, `COUNTS` (its numbers)."""
    return {"pk": f"ACCOUNT#{owner_id}", "sk": part}


def live_count(owner_id: str) -> dict[str, str]:
    """How many calls and legs the account has live: a small item, written as each starts and ends."""
    return account(owner_id, "LIVECOUNT")


# The live calls' markers, one item each, spread over this many partitions (a marker's partition: its id's hash) so
# that the starts and ends of every account's calls never crowd one partition; the sweep of lost calls reads them all.
LIVE_SHARDS = 16


def live_partition(shard: int) -> str:
    return f"LIVECALLS#{shard}"


def live_marker(live_id: str) -> dict[str, str]:
    """Marks a call's id, or a transfer leg's identity, counted among its owner's live calls (ids are unique across
    accounts: a call's is random or derived from its owner's own request)."""
    shard = int.from_bytes(hashlib.sha256(live_id.encode()).digest()[:2], "big") % LIVE_SHARDS
    return {"pk": live_partition(shard), "sk": live_id}


def dnc_partition(owner_id: str) -> str:
    """A do-not-call list: an account's, or the global one (`GLOBAL_DNC`)."""
    return f"DNC#{owner_id}"


def dnc(owner_id: str, e164: str) -> dict[str, str]:
    return {"pk": dnc_partition(owner_id), "sk": e164}


# ---------------------------------------------------------------- campaigns (CampaignsTable)

CONTACT_PREFIX = "CONTACT#"


def campaign(campaign_id: str) -> dict[str, str]:
    return {"pk": f"CAMPAIGN#{_id('cmp', campaign_id, 'campaign')}", "sk": ITEM}


def campaign_owner(owner_id: str, created_at: str, campaign_id: str) -> dict[str, str]:
    return {"gsi1pk": owner_partition(owner_id), "gsi1sk": f"{created_at}#{campaign_id}"}


def contact(campaign_id: str, contact_id: str) -> dict[str, str]:
    """A contact under its campaign; ids sort in the order the contacts were given."""
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": f"{CONTACT_PREFIX}{contact_id}"}


def contact_state_partition(campaign_id: str, status: str) -> str:
    """The `by_state` index: a campaign's contacts in one status."""
    return f"CAMPAIGN#{campaign_id}#{status}"


def contact_state(campaign_id: str, status: str, next_at: int, contact_id: str) -> dict[str, str]:
    """Pending contacts sort by when they may next be dialled, then in the order given; the others in that order."""
    return {"gsi2pk": contact_state_partition(campaign_id, status), "gsi2sk": f"{next_at:012d}#{contact_id}"}
