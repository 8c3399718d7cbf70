#!/usr/bin/env python3
"""Deploy the stateful part of template.yaml into a local moto server.

The SAM template is expanded offline with samtranslator, trimmed to the
resources moto can really provide (tables, queues, topics and whatever links
them), and created -- or updated, if it exists -- as a CloudFormation stack
at --endpoint. The stack outputs that survived the trimming are printed on
stdout as one JSON object {OutputKey: OutputValue}; logs go to stderr.

    python3 infra/local_stack.py --endpoint http://127.0.0.1:5000 --stack rg-dev

Nothing here names a resource of the template: adding a table or a queue to
template.yaml is enough for it to exist locally.
"""

import argparse
import copy
import json
import logging
import re
import sys
import time

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

LOG = logging.getLogger("local_stack")

# Resource types moto implements well enough for the service to run against.
# Everything else (functions, roles, schedules, APIs, secrets) is either run
# differently locally or not needed at all.
LOCAL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
        "AWS::SNS::TopicPolicy",
    }
)

# moto creates stacks synchronously; the bound only guards against a stack
# that never settles.
DEPLOY_TIMEOUT_SECONDS = 60
# A stack still in progress when we start was left behind by a create that
# crashed inside moto: moto will never finish it.
STUCK_AFTER_SECONDS = 3
POLL_SECONDS = 0.1

DUMMY_CODE_URI = "s3://local-stack-placeholder/code.zip"


class DeployError(Exception):
    """A failure worth one clear line to the user, without a traceback."""


# ---------------------------------------------------------------------------
# Template loading and SAM expansion
# ---------------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that turns short-form intrinsics (!Ref, !Sub, ...) into
    their long JSON form, as CloudFormation does."""


def _construct_intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else "Fn::" + tag_suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        # !GetAtt Resource.Attribute is shorthand for a two-element list.
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    except (OSError, yaml.YAMLError) as e:
        raise DeployError(f"read template {path}: {e}") from e


def expand_sam(template, region):
    """Expand the Serverless transform without calling AWS.

    The translator only needs a region for ARNs and a managed policy map for
    policies named by their short name; the template names none, so an empty
    map is enough.
    """
    if "Transform" not in template:
        return template

    # Imported late: plain CloudFormation templates do not need it.
    from samtranslator.parser.parser import Parser
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    logging.getLogger("samtranslator").setLevel(logging.CRITICAL)

    template = copy.deepcopy(template)
    # The translator insists on code in S3; local paths are for `sam build`,
    # and functions are dropped before deploying anyway.
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props, dict):
            if props.get("PackageType") == "Image":
                props["ImageUri"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/placeholder:latest"
            else:
                props["CodeUri"] = DUMMY_CODE_URI
        if resource.get("Type") == "AWS::Serverless::LayerVersion" and isinstance(props, dict):
            props["ContentUri"] = DUMMY_CODE_URI

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=region
    )
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    try:
        return translator.translate(sam_template=template, parameter_values={})
    except InvalidDocumentException as e:
        causes = "; ".join(cause.message for cause in e.causes)
        raise DeployError(f"expand SAM template: {causes}") from e


# ---------------------------------------------------------------------------
# Trimming to what runs locally
# ---------------------------------------------------------------------------

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def references(node):
    """Names a template fragment refers to: resources, parameters, pseudo
    parameters (AWS::...) and conditions, without telling them apart."""
    found = set()

    def walk(value):
        if isinstance(value, list):
            for v in value:
                walk(v)
            return
        if not isinstance(value, dict):
            return
        for key, v in value.items():
            if key == "Ref" and isinstance(v, str):
                found.add(v)
            elif key == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else str(v).split(".", 1)[0]
                if isinstance(target, str):
                    found.add(target)
                else:
                    walk(target)
            elif key == "Fn::Sub":
                text, local_vars = (v[0], v[1]) if isinstance(v, list) else (v, {})
                if isinstance(text, str):
                    for name in _SUB_VARIABLE.findall(text):
                        name = name.split(".", 1)[0]
                        if name not in local_vars:
                            found.add(name)
                walk(local_vars)
            elif key in ("Condition", "DependsOn") and isinstance(v, (str, list)):
                found.update([v] if isinstance(v, str) else v)
            else:
                walk(v)

    walk(node)
    return found


def _resource_references(resource):
    # Only the parts CloudFormation evaluates; Metadata is free-form.
    parts = {k: resource[k] for k in ("Properties", "Condition", "DependsOn") if k in resource}
    return references(parts)


def trim_to_local(template):
    """Return a copy of template holding only the resources in LOCAL_TYPES
    whose references all stay inside the kept set, and the parameters,
    conditions and outputs that still resolve."""
    resources = template.get("Resources", {})
    parameters = template.get("Parameters", {})
    conditions = template.get("Conditions", {})
    mappings = template.get("Mappings", {})

    kept = {name for name, r in resources.items() if r.get("Type") in LOCAL_TYPES}
    # A kept resource pointing at a dropped one (say, a subscription to a
    # function) cannot be created either; drop until nothing changes.
    changed = True
    while changed:
        changed = False
        for name in sorted(kept):
            dangling = {ref for ref in _resource_references(resources[name]) if ref in resources and ref not in kept}
            if dangling:
                LOG.info("skip %s: refers to %s, which is not deployed locally", name, ", ".join(sorted(dangling)))
                kept.discard(name)
                changed = True
    for name in sorted(set(resources) - kept):
        if resources[name].get("Type") not in LOCAL_TYPES:
            LOG.debug("skip %s (%s)", name, resources[name].get("Type"))

    outputs = {}
    for key, output in template.get("Outputs", {}).items():
        if any(ref in resources and ref not in kept for ref in references(output)):
            LOG.info("skip output %s: refers to a resource not deployed locally", key)
            continue
        outputs[key] = output

    local = {k: template[k] for k in ("AWSTemplateFormatVersion", "Description") if k in template}
    local["Resources"] = {name: resources[name] for name in resources if name in kept}
    if outputs:
        local["Outputs"] = outputs

    # Parameters and conditions are kept only if something kept still uses
    # them, following conditions that refer to other conditions.
    used = set()
    pending = [references(local["Resources"]), references(outputs)]
    while pending:
        for name in pending.pop() - used:
            used.add(name)
            if name in conditions:
                pending.append(references(conditions[name]))
    if any(name in used for name in conditions):
        local["Conditions"] = {k: v for k, v in conditions.items() if k in used}
    if any(name in used for name in parameters):
        local["Parameters"] = {k: v for k, v in parameters.items() if k in used}
    if mappings:
        local["Mappings"] = mappings

    if not local["Resources"]:
        raise DeployError("the template has no resource that can be deployed locally")
    return local


# ---------------------------------------------------------------------------
# Deploying into moto
# ---------------------------------------------------------------------------

_TERMINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
# Statuses of a stack that cannot be updated, only replaced. CREATE_IN_PROGRESS
# is among them once the stack has had STUCK_AFTER_SECONDS to settle.
_REPLACEABLE = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED", "CREATE_IN_PROGRESS"}


def _stack_status(cfn, stack):
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def _failure_reasons(cfn, stack):
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except ClientError:
        return ""
    reasons = [
        f"{e['LogicalResourceId']}: {e['ResourceStatusReason']}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED") and e.get("ResourceStatusReason")
    ]
    return "; ".join(reasons)


def _settled_status(cfn, stack, timeout):
    """The stack's status once it is no longer in progress, or its last
    status when timeout runs out."""
    deadline = time.monotonic() + timeout
    while True:
        status = _stack_status(cfn, stack)
        if status is None or not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(POLL_SECONDS)


def _wait(cfn, stack, action):
    status = _settled_status(cfn, stack, DEPLOY_TIMEOUT_SECONDS)
    if status in _TERMINAL_OK:
        return
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise DeployError(f"{action} stack {stack}: still {status} after {DEPLOY_TIMEOUT_SECONDS}s")
    reasons = _failure_reasons(cfn, stack)
    raise DeployError(f"{action} stack {stack}: ended in {status}" + (f": {reasons}" if reasons else ""))


def deploy(cfn, stack, template):
    # default=str: YAML turns an unquoted date (AWSTemplateFormatVersion) into a date object.
    body = json.dumps(template, default=str)
    status = _settled_status(cfn, stack, STUCK_AFTER_SECONDS)
    if status in _REPLACEABLE:
        LOG.info("stack %s is %s; deleting it before creating it again", stack, status)
        cfn.delete_stack(StackName=stack)
        status = None
    elif status is not None and status.endswith("_IN_PROGRESS"):
        raise DeployError(f"stack {stack} is stuck in {status}; delete it or restart moto")

    if status is None:
        LOG.info("creating stack %s", stack)
        cfn.create_stack(StackName=stack, TemplateBody=body)
        _wait(cfn, stack, "create")
        return

    LOG.info("updating stack %s (was %s)", stack, status)
    try:
        cfn.update_stack(StackName=stack, TemplateBody=body)
    except ClientError as e:
        if "No updates are to be performed" in str(e):
            LOG.info("stack %s is up to date", stack)
            return
        raise
    _wait(cfn, stack, "update")


def stack_outputs(cfn, stack):
    stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--template", default="template.yaml", help="SAM template (default: template.yaml)")
    parser.add_argument("--region", default="us-east-1", help="AWS region (default: us-east-1)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the trimmed CloudFormation template instead of deploying it"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every skipped resource")
    args = parser.parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="local_stack: %(message)s",
    )
    # boto's own debug output drowns ours.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:
        template = trim_to_local(expand_sam(load_template(args.template), args.region))
        if args.dry_run:
            json.dump(template, sys.stdout, indent=2, sort_keys=True, default=str)
            sys.stdout.write("\n")
            return 0
        LOG.info("deploying %s", ", ".join(sorted(template["Resources"])))
        cfn = boto3.client(
            "cloudformation",
            endpoint_url=args.endpoint,
            region_name=args.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        deploy(cfn, args.stack, template)
        outputs = stack_outputs(cfn, args.stack)
    except DeployError as e:
        LOG.error("%s", e)
        return 1
    except (ClientError, BotoCoreError) as e:
        LOG.error("deploy stack %s at %s: %s", args.stack, args.endpoint, e)
        return 1
    except ResponseParserError:
        # moto answers an unexpected exception with an HTML error page.
        LOG.error(
            "deploy stack %s at %s: moto failed with an internal error, probably on a property it does not "
            "support; its own log has the traceback",
            args.stack,
            args.endpoint,
        )
        return 1

    json.dump(outputs, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
