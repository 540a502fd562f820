"""Reads template.yaml and resolves what the local stack needs from it: tables (and their streams), queues, KMS
keys, state machines, functions with their environment, HTTP routes, the authorizer and the functions' other event
sources (queues, schedules, streams). There is no second list.

Names are known before anything is created: CloudFormation's physical names where the template gives none, and a
KMS key's id, which AWS draws at random, derived from the stack's name and the key's logical id (the local stack
creates the key with that id: `local/resources.py`).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

REGION = "us-east-1"
ACCOUNT = "123456789012"


class _Loader(yaml.SafeLoader):
    pass


def _tag(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {"Ref": value} if name == "Ref" else {f"Fn::{name}": value}

    return construct


for _name in (
    "Ref",
    "GetAtt",
    "Sub",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Join",
    "Select",
    "Split",
    "FindInMap",
    "ImportValue",
    "Base64",
    "GetAZs",
    "Condition",
):
    _Loader.add_constructor(f"!{_name}", _tag(_name))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass  # nosec B506


def _function_named(target: Any) -> str:
    """The function's logical id in an invocation target: `!GetAtt F.Arn`, `!Ref F`, or `!Ref F.Alias` (SAM's
    reference to the alias it publishes; the local stack runs each function once, unversioned)."""
    if isinstance(target, dict) and "Fn::GetAtt" in target:
        return str(target["Fn::GetAtt"][0])
    if isinstance(target, dict) and "Ref" in target:
        return str(target["Ref"]).split(".", 1)[0]
    return str(target)


@dataclass
class Function:
    logical_id: str
    name: str
    module: str
    attribute: str
    environment: dict[str, str]
    routes: list[tuple[str, str, bool]] = field(default_factory=list)  # (METHOD, /path/{x}, public)
    timeout: int = 3  # seconds, Lambda's default

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}"


@dataclass
class Queue:
    logical_id: str
    name: str
    url: str
    arn: str
    attributes: dict[str, str]  # CreateQueue's attributes, from the resource's properties


@dataclass
class Stream:
    """A table's DynamoDB stream."""

    table_logical_id: str
    table: str  # the table's name
    arn: str  # as `!GetAtt Table.StreamArn` resolves it
    view_type: str


@dataclass
class KmsKey:
    logical_id: str
    key_id: str
    arn: str
    properties: dict[str, Any]  # resolved


@dataclass
class EventSource:
    """A function's event other than an HTTP route: `kind` is the SAM event type (SQS, Schedule, ...)."""

    function: str  # the function's logical id
    name: str  # the event's key under the function's Events
    kind: str
    properties: dict[str, Any]  # resolved


# CloudFormation's AWS::SQS::Queue properties that are CreateQueue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


@dataclass
class Authorizer:
    function: str
    identity_headers: list[str]
    cache_ttl: int


@dataclass
class Throttle:
    """The stage's default route throttling: requests per second, and at once above that rate, per route."""

    rate: float
    burst: int


class Stack:
    """A template with its parameters resolved, as the local stack deploys it."""

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        *,
        name: str = "telephony-local",
        path: Path = TEMPLATE,
    ) -> None:
        self.doc = load(path)
        self.name = name
        self.resources: dict[str, Any] = self.doc.get("Resources", {})
        self.parameters = {
            key: str(spec.get("Default", "")) for key, spec in (self.doc.get("Parameters") or {}).items()
        }
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise ValueError(f"unknown template parameters: {sorted(unknown)}")
        self.parameters.update(parameters or {})
        self._check_rules()
        self.conditions = {k: bool(self.resolve(v)) for k, v in (self.doc.get("Conditions") or {}).items()}

    def _check_rules(self) -> None:
        """The template's Rules, as CloudFormation applies them: parameters an assertion refuses are not deployed."""
        for name, rule in (self.doc.get("Rules") or {}).items():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions") or []:
                if not self.resolve(assertion["Assert"]):
                    raise ValueError(f"template rule {name}: {assertion.get('AssertDescription', 'refused')}")

    # ------------------------------------------------------------ names
    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        kind = resource["Type"]
        props = resource.get("Properties") or {}
        if kind == "AWS::DynamoDB::Table":
            return str(self.resolve(props.get("TableName", f"{self.name}-{logical_id}")))
        if kind == "AWS::Serverless::StateMachine":
            return str(self.resolve(props.get("Name", f"{self.name}-{logical_id}")))
        if kind == "AWS::Serverless::Function":
            return f"{self.name}-{logical_id}"
        if kind == "AWS::S3::Bucket":  # CloudFormation's generated names are lower case, as S3 requires
            return str(self.resolve(props.get("BucketName", f"{self.name}-{logical_id}".lower())))
        if kind == "AWS::SQS::Queue":
            if "QueueName" in props:
                return str(self.resolve(props["QueueName"]))
            fifo = str(self.resolve(props.get("FifoQueue", False))).lower() == "true"
            return f"{self.name}-{logical_id}" + (".fifo" if fifo else "")
        return f"{self.name}-{logical_id}"

    def kms_key_id(self, logical_id: str) -> str:
        """The key's id: a UUID of the stack and the key (a multi-Region key's prefixed `mrk-`, with the UUID's dashes
        that moto expects where AWS writes 32 hex digits)."""
        derived = uuid.uuid5(uuid.NAMESPACE_URL, f"arn:aws:kms:{REGION}:{ACCOUNT}:{self.name}/{logical_id}")
        props = self.resources[logical_id].get("Properties") or {}
        if str(self.resolve(props.get("MultiRegion", False))).lower() == "true":
            return f"mrk-{derived}"
        return str(derived)

    def queue_url(self, name: str) -> str:
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name.endswith((".Alias", ".Version")):  # SAM's references to a function's published alias or version
            return self._ref(_function_named({"Ref": name}))
        kind = self.resources[name]["Type"]
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.physical_name(name)}"
        if kind == "AWS::SecretsManager::Secret":
            return self.physical_name(name)  # SecretId takes a name as well as an ARN
        if kind == "AWS::SQS::Queue":
            return self.queue_url(self.physical_name(name))
        if kind == "AWS::KMS::Key":
            return self.kms_key_id(name)
        if kind == "AWS::KMS::Alias":
            return str(self.resolve(self.resources[name]["Properties"]["AliasName"]))
        if kind in ("AWS::SNS::Topic", "AWS::Serverless::LayerVersion"):
            return f"arn:aws:local:{REGION}:{ACCOUNT}:{self.physical_name(name)}"
        return self.physical_name(name)

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            attributes = {
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "QueueName": name,
                "QueueUrl": self.queue_url(name),
            }
            return attributes[attribute]
        if kind == "AWS::KMS::Key":
            key_id = self.kms_key_id(logical_id)
            return {"KeyId": key_id, "Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"}[attribute]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            # moto labels a stream with the time it was made; the local stack finds it by its table's name
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/stream/local"
        if attribute == "Arn":
            service = {
                "AWS::Serverless::Function": "lambda",
                "AWS::DynamoDB::Table": "dynamodb",
                "AWS::Serverless::StateMachine": "states",
            }.get(kind, "local")
            if service == "lambda":
                return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            if service == "states":
                return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
            if service == "dynamodb":
                return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
            return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"
        if attribute == "Name":
            return name
        return f"{name}.{attribute}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._get_att(arg[0], arg[1])
            if key == "Fn::Sub":
                template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(
                    r"\$\{([^}!]+)\}",
                    lambda m: str(
                        variables[m.group(1)]
                        if m.group(1) in variables
                        else (
                            self._get_att(*m.group(1).split(".", 1))
                            if "." in m.group(1) and not m.group(1).startswith("AWS::")
                            else self._ref(m.group(1))
                        )
                    ),
                    template,
                )
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.conditions[name] else no)
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.conditions[arg]
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
        return {k: self.resolve(v) for k, v in value.items()}

    def included(self, logical_id: str) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.conditions[condition]

    # ------------------------------------------------------------ resources
    def of_type(self, kind: str) -> list[str]:
        return [k for k, v in self.resources.items() if v["Type"] == kind and self.included(k)]

    def tables(self) -> dict[str, dict[str, Any]]:
        return {
            k: self.resolve(self.resources[k].get("Properties") or {}) for k in self.of_type("AWS::DynamoDB::Table")
        }

    def queues(self) -> list[Queue]:
        """In an order they can be created in: a dead-letter queue before the queues that redrive to it."""
        found = {}
        for logical_id in self.of_type("AWS::SQS::Queue"):
            props = self.resolve(self.resources[logical_id].get("Properties") or {})
            name = self.physical_name(logical_id)
            attributes = {k: _attribute(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
            found[logical_id] = Queue(
                logical_id, name, self.queue_url(name), self._get_att(logical_id, "Arn"), attributes
            )
        by_arn = {q.arn: q for q in found.values()}
        ordered: list[Queue] = []

        def add(queue: Queue, seen: tuple[str, ...] = ()) -> None:
            if queue in ordered:
                return
            if queue.logical_id in seen:
                raise ValueError(f"queues redrive to each other: {' -> '.join(seen)}")
            target = json.loads(queue.attributes.get("RedrivePolicy", "{}")).get("deadLetterTargetArn")
            if target in by_arn:
                add(by_arn[target], (*seen, queue.logical_id))
            ordered.append(queue)

        for queue in found.values():
            add(queue)
        return ordered

    def streams(self) -> dict[str, Stream]:
        """The tables' streams, by ARN."""
        found = {}
        for logical_id, props in self.tables().items():
            spec = props.get("StreamSpecification")
            if spec:
                arn = self._get_att(logical_id, "StreamArn")
                found[arn] = Stream(logical_id, self.physical_name(logical_id), arn, spec["StreamViewType"])
        return found

    def kms_keys(self) -> list[KmsKey]:
        return [
            KmsKey(
                logical_id,
                self.kms_key_id(logical_id),
                self._get_att(logical_id, "Arn"),
                self.resolve(self.resources[logical_id].get("Properties") or {}),
            )
            for logical_id in self.of_type("AWS::KMS::Key")
        ]

    def kms_aliases(self) -> dict[str, str]:
        """alias name -> the id of the key it points to."""
        aliases = {}
        for logical_id in self.of_type("AWS::KMS::Alias"):
            props = self.resolve(self.resources[logical_id]["Properties"])
            target = str(props["TargetKeyId"])
            aliases[str(props["AliasName"])] = target.rsplit(":key/", 1)[-1]
        return aliases

    def buckets(self) -> dict[str, dict[str, Any]]:
        """bucket name -> its properties, resolved."""
        return {
            self.physical_name(k): self.resolve(self.resources[k].get("Properties") or {})
            for k in self.of_type("AWS::S3::Bucket")
        }

    def bucket_policies(self) -> dict[str, dict[str, Any]]:
        """bucket name -> its policy document, resolved."""
        policies = {}
        for logical_id in self.of_type("AWS::S3::BucketPolicy"):
            props = self.resolve(self.resources[logical_id]["Properties"])
            policies[str(props["Bucket"])] = props["PolicyDocument"]
        return policies

    def secrets(self) -> dict[str, str]:
        """name -> secret string."""
        return {
            self.physical_name(k): str(self.resolve(self.resources[k]["Properties"].get("SecretString", "")))
            for k in self.of_type("AWS::SecretsManager::Secret")
        }

    def state_machines(self) -> dict[str, str]:
        """name -> definition with its substitutions applied."""
        machines = {}
        for logical_id in self.of_type("AWS::Serverless::StateMachine"):
            props = self.resources[logical_id]["Properties"]
            definition = (ROOT / props["DefinitionUri"]).read_text()
            for key, value in self.resolve(props.get("DefinitionSubstitutions") or {}).items():
                definition = definition.replace("${" + key + "}", str(value))
            machines[self.physical_name(logical_id)] = definition
        return machines

    def functions(self) -> dict[str, Function]:
        globals_ = ((self.doc.get("Globals") or {}).get("Function")) or {}
        global_env = self.resolve(((globals_.get("Environment") or {}).get("Variables")) or {})
        global_timeout = int(self.resolve(globals_.get("Timeout", 3)))
        found = {}
        for logical_id in self.of_type("AWS::Serverless::Function"):
            props = self.resources[logical_id]["Properties"]
            code = props["CodeUri"].strip("/").replace("/", ".")
            module, _, attribute = props["Handler"].rpartition(".")
            env = {**global_env, **self.resolve(((props.get("Environment") or {}).get("Variables")) or {})}
            function = Function(
                logical_id,
                self.physical_name(logical_id),
                f"{code}.{module}",
                attribute,
                {k: str(v) for k, v in env.items() if v is not None},
                timeout=int(self.resolve(props.get("Timeout", global_timeout))),
            )
            for event in (props.get("Events") or {}).values():
                if event.get("Type") != "HttpApi":
                    continue
                ev = event["Properties"]
                auth = (ev.get("Auth") or {}).get("Authorizer")
                function.routes.append((ev["Method"].upper(), ev["Path"], auth == "NONE"))
            found[logical_id] = function
        return found

    def event_sources(self) -> list[EventSource]:
        """Every function's events but its HTTP routes (the gateway serves those), properties resolved."""
        found = []
        for logical_id in self.of_type("AWS::Serverless::Function"):
            events = self.resources[logical_id]["Properties"].get("Events") or {}
            for name, event in events.items():
                if event.get("Type") == "HttpApi":
                    continue
                properties = self.resolve(event.get("Properties") or {})
                found.append(EventSource(logical_id, name, event["Type"], properties))
        return found

    def authorizer(self) -> Authorizer | None:
        for logical_id in self.of_type("AWS::Serverless::HttpApi"):
            auth = (self.resources[logical_id].get("Properties") or {}).get("Auth") or {}
            default = auth.get("DefaultAuthorizer")
            if not default:
                continue
            spec = auth["Authorizers"][default]
            function = _function_named(spec["FunctionArn"])
            identity = spec.get("Identity") or {}
            ttl = int(self.resolve(identity.get("ReauthorizeEvery", 300)))
            return Authorizer(function, [h.lower() for h in identity.get("Headers", [])], ttl)
        return None

    def throttling(self) -> Throttle | None:
        for logical_id in self.of_type("AWS::Serverless::HttpApi"):
            settings = (self.resources[logical_id].get("Properties") or {}).get("DefaultRouteSettings") or {}
            if "ThrottlingRateLimit" in settings or "ThrottlingBurstLimit" in settings:
                rate = float(self.resolve(settings.get("ThrottlingRateLimit", 10000)))
                return Throttle(rate, int(self.resolve(settings.get("ThrottlingBurstLimit", 5000))))
        return None

    def environment(self) -> dict[str, str]:
        """The union of every function's environment; the local stack runs them in one process."""
        merged: dict[str, str] = {}
        for function in self.functions().values():
            for key, value in function.environment.items():
                if merged.get(key, value) != value:
                    raise ValueError(f"functions disagree on {key}: {merged[key]!r} vs {value!r}")
                merged[key] = value
        return merged
