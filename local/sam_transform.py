"""Prints template.yaml after the SAM transform, as CloudFormation receives it, for cfn-lint.

cfn-lint on the raw SAM template misses mistakes inside SAM-only properties (a misspelt !Ref in a
policy template or a function's environment); after the transform they are plain resources.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from local.template import TEMPLATE, load


class _NoManagedPolicies:
    """The transform asks IAM for AWS managed policy ARNs; the template uses none, so no AWS call."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(path: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """`parameters`: template parameter values, as `sam deploy --parameter-overrides` gives them (SAM resolves some
    of them in the transform itself); the template's defaults otherwise."""
    import os

    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the transform's pseudo parameters; no AWS call

    template = load(path)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):  # what `sam package` does: local folders become S3 objects
                props[key] = f"s3://packaged-artifacts/{props[key].strip('/')}.zip"
        if isinstance(props.get("DefinitionUri"), str):  # inlined, so that cfn-lint checks the definition too
            props["Definition"] = json.loads((path.parent / props.pop("DefinitionUri")).read_text())
    pseudo = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
    return transform(template, {**pseudo, **(parameters or {})}, _NoManagedPolicies())  # type: ignore[no-any-return]


def main() -> None:
    """`python -m local.sam_transform [template.yaml] [Name=Value ...]`"""
    arguments = sys.argv[1:]
    source = Path(arguments.pop(0)) if arguments and "=" not in arguments[0] else TEMPLATE
    parameters = dict(argument.split("=", 1) for argument in arguments)
    json.dump(transformed(source, parameters), sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
