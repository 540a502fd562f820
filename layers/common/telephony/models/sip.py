"""Bodies of number configuration and of agent registration (the Register Phone Number API), and what is stored."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, model_validator

from telephony.models.common import Body, JsonObject, Out, Query, Record

Transport = Literal["AUTO", "UDP", "TCP", "TLS"]


class SipTrunkConfig(Body):
    name: str = Field(min_length=1, max_length=100, description="Human-readable name for the trunk")
    address: str = Field(min_length=1, max_length=253, description="SIP provider address, e.g. sip.twilio.com")
    numbers: list[str] = Field(min_length=1, max_length=50, description="Phone numbers on this trunk, E.164")
    auth_username: str | None = Field(default=None, max_length=128)
    auth_password: str | None = Field(default=None, max_length=128, description="Write-only: never returned")
    destination_country: str | None = Field(default=None, min_length=2, max_length=2)
    transport: Transport = "AUTO"


class DispatchRuleConfig(Body):
    rule_name: str = Field(min_length=1, max_length=100)
    room_prefix: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    agent_name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")


class ConfigureRequest(Body):
    sip_trunk: SipTrunkConfig | None = None
    dispatch_rule: DispatchRuleConfig | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ConfigureRequest:
        if self.sip_trunk is None and self.dispatch_rule is None:
            raise ValueError("give sip_trunk, dispatch_rule or both")
        return self


class SipTrunkView(Out):
    name: str
    address: str | None = None
    numbers: list[str]
    auth_username: str | None = None
    auth_configured: bool = False
    destination_country: str | None = None
    transport: str = "AUTO"
    inbound_trunk_id: str | None = None
    outbound_trunk_id: str | None = None


class DispatchRuleView(Out):
    rule_name: str
    room_prefix: str
    agent_name: str
    dispatch_rule_id: str | None = None


class NumberConfiguration(Out):
    phone_number_id: str
    phone_number: str
    configuration_status: str
    sip_trunk: SipTrunkView | None = None
    dispatch_rule: DispatchRuleView | None = None


class RemovedConfiguration(Out):
    phone_number_id: str
    removed: list[str]
    configuration_status: str


# The seed's own examples of the three nested objects of Register Phone Number, shown in the OpenAPI document.
DTMF_CONFIG_EXAMPLE: dict[str, Any] = {
    "auto_navigate_ivr": True,
    "dtmf_sequence": "*123#ww456",
    "dtmf_timeout": 30,
    "ivr_detection": True,
}
TRANSFER_CONFIG_EXAMPLE: dict[str, Any] = {
    "allowed_destinations": ["tel:+15105550100"],
    "cold_transfer_enabled": True,
    "requires_confirmation": True,
    "supervisor_phone": "tel:+15105550100",
    "warm_transfer_enabled": False,
}
AGENT_FEATURES_EXAMPLE: dict[str, Any] = {
    "call_screening": False,
    "recording_enabled": True,
    "sentiment_analysis": True,
    "transcription_enabled": True,
}


class DtmfConfig(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [DTMF_CONFIG_EXAMPLE]})

    auto_navigate_ivr: bool = True
    dtmf_sequence: str | None = Field(default=None, max_length=64, pattern=r"^[0-9*#wW]*$")
    dtmf_timeout: int = Field(default=30, ge=1, le=300)
    ivr_detection: bool = True


class TransferConfig(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [TRANSFER_CONFIG_EXAMPLE]})

    allowed_destinations: list[str] = Field(default_factory=list, max_length=50)
    cold_transfer_enabled: bool = True
    requires_confirmation: bool = True
    supervisor_phone: str | None = Field(default=None, max_length=64)
    warm_transfer_enabled: bool = False


class AgentFeatures(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [AGENT_FEATURES_EXAMPLE]})

    call_screening: bool = False
    recording_enabled: bool = True
    sentiment_analysis: bool = True
    transcription_enabled: bool = True


class RegisterPhoneNumber(Body):
    """Every field of the Register Phone Number API, with its defaults, ranges and patterns."""

    phone_number: str = Field(max_length=32, description="E.164 format phone number (e.g., +15551234567)")
    provider: str = Field(max_length=32, description="livekit, twilio, vonage, telnyx, bandwidth, plivo or custom")
    trunk_numbers: list[str] | None = Field(default=None, max_length=50)
    allowed_addresses: list[str] | None = Field(default=None, max_length=50)
    allowed_numbers: list[str] | None = Field(default=None, max_length=200)
    auth_username: str | None = Field(default=None, max_length=128)
    auth_password: str | None = Field(default=None, max_length=128)
    enable_outbound: bool = Field(default=False, validation_alias=AliasChoices("enable_outbound", "outbound_enabled"))
    outbound_address: str | None = Field(default=None, max_length=253)
    outbound_numbers: list[str] | None = Field(default=None, max_length=50)
    outbound_transport: str = Field(default="AUTO", pattern=r"^(AUTO|UDP|TCP|TLS)$")
    destination_country: str | None = Field(default=None, min_length=2, max_length=2)
    media_encryption: str = Field(default="ALLOW", pattern=r"^(DISABLE|ALLOW|REQUIRE)$")
    krisp_enabled: bool = True
    ringing_timeout_seconds: int = Field(default=30, ge=1, le=300)
    max_call_duration_seconds: int = Field(default=3600, ge=60, le=86400)
    hide_phone_number: bool = False
    custom_headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    headers_to_attributes: dict[str, str] = Field(default_factory=dict, max_length=20)
    dtmf_config: DtmfConfig | None = None
    transfer_config: TransferConfig | None = None
    agent_features: AgentFeatures | None = None
    metadata: JsonObject = Field(default_factory=dict)
    provider_config: JsonObject = Field(default_factory=dict)


class SupportedProvider(Out):
    name: str
    default_outbound_address: str | None
    auth: str
    requires_trunk: bool


class RegisteredPhoneNumber(Out):
    """Every response field of the Register Phone Number API, plus the ids needed to manage the registration."""

    agent_id: str
    phone_number: str
    provider: str
    sip_uri: str
    dispatch_rule_id: str
    outbound_enabled: bool
    status: str
    created_at: str
    instructions: dict[str, Any]
    outbound_trunk_id: str | None = None
    outbound_address: str | None = None
    provider_config: dict[str, Any] = Field(default_factory=dict)
    room_pattern: str | None = None
    livekit_sip_domain: str | None = None
    inbound_addresses: list[str] | None = None
    supported_providers: list[SupportedProvider] | None = None
    phone_number_id: str
    inbound_trunk_id: str | None = None


class Unregistered(Out):
    phone_number_id: str
    agent_id: str
    status: str = "unregistered"


class DeleteConfigurationQuery(Query):
    config_type: Literal["sip_trunk", "dispatch_rule", "all"] = Field(description="What to remove")


# ---------------------------------------------------------------- what a number holds in LiveKit (stored)


class Part(StrEnum):
    """The LiveKit resources of one number: created in this order, removed in the reverse one."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    RULE = "rule"


class InboundTrunk(Record):
    """A SIP inbound trunk as we want LiveKit to hold it. Its password never sits here: it travels apart, from
    Secrets Manager to the LiveKit request, and `has_password` records that there is one."""

    name: str
    numbers: list[str]
    allowed_addresses: list[str] = Field(default_factory=list)
    allowed_numbers: list[str] = Field(default_factory=list)
    auth_username: str = ""
    has_password: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    headers_to_attributes: dict[str, str] = Field(default_factory=dict)
    krisp_enabled: bool = False
    ringing_timeout_seconds: int = 0
    max_call_duration_seconds: int = 0
    media_encryption: str = "ALLOW"
    metadata: str = ""


class OutboundTrunk(Record):
    """A SIP outbound trunk as we want LiveKit to hold it (its password apart, as for InboundTrunk)."""

    name: str
    address: str
    numbers: list[str]
    transport: str = "AUTO"
    destination_country: str = ""
    auth_username: str = ""
    has_password: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    media_encryption: str = "ALLOW"
    metadata: str = ""


class DispatchRule(Record):
    """A SIP dispatch rule (individual rooms under `room_prefix`, the named agent dispatched into each)."""

    name: str
    room_prefix: str
    agent_name: str
    trunk_ids: list[str] = Field(default_factory=list)
    numbers: list[str] = Field(default_factory=list)
    inbound_numbers: list[str] = Field(default_factory=list)
    hide_phone_number: bool = False
    krisp_enabled: bool = False
    agent_metadata: str = ""
    metadata: str = ""


Spec = InboundTrunk | OutboundTrunk | DispatchRule


class Plan(Record):
    """The LiveKit resources of a number, as specified; a part left None does not exist (or, in a plan to
    apply, is not touched)."""

    inbound: InboundTrunk | None = None
    outbound: OutboundTrunk | None = None
    rule: DispatchRule | None = None

    def get(self, part: Part) -> Spec | None:
        spec: Spec | None = getattr(self, part.value)
        return spec

    def with_part(self, part: Part, spec: Spec | None) -> Plan:
        return self.model_copy(update={part.value: spec})


class LiveKitIds(Record):
    """The ids LiveKit gave a number's resources."""

    inbound: str | None = None
    outbound: str | None = None
    rule: str | None = None

    def get(self, part: Part) -> str | None:
        found: str | None = getattr(self, part.value)
        return found

    def with_part(self, part: Part, resource_id: str | None) -> LiveKitIds:
        return self.model_copy(update={part.value: resource_id})


class ConfigLock(Record):
    """The provisioning lock: one configuration of a number at a time, held until `until` (epoch seconds)."""

    token: str
    until: int


class CallSettings(Record):
    """How the number's calls are placed (from its registration; the defaults otherwise)."""

    ringing_timeout_seconds: int = 30
    max_call_duration_seconds: int = 3600
    krisp_enabled: bool = True
    hide_phone_number: bool = False
    custom_headers: dict[str, str] = Field(default_factory=dict)
    media_encryption: str | None = None
    dtmf_config: DtmfConfig | None = None
    transfer_config: TransferConfig | None = None
    agent_features: AgentFeatures | None = None


class Registration(Record):
    """A registration's request as it was made, its password left out."""

    model_config = Record.model_config | {"extra": "allow"}
    provider_config: dict[str, Any] = Field(default_factory=dict)
