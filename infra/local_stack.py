#!/usr/bin/env python3
"""Deploy the whole of template.yaml into a local moto server.

The SAM template is expanded offline with samtranslator and created -- or
updated, if it exists -- as a CloudFormation stack at --endpoint: functions,
roles, event source mapping and log groups included. The resource types
moto's CloudFormation cannot create (AWS_API_CREATED below, each with the
reason) are made through their own service's API in moto instead, with the
same properties, and every reference to them resolved: nothing of the
template is left out. What moto would need Docker for is made inert and
said so (INERT_LOCALLY). What moto ignores is done here as CloudFormation
would: parameters are checked against their constraints and the template's
Rules before anything is made, and tables get their TTL.

On stdout, one JSON object: {"outputs": {OutputKey: OutputValue},
"functions": {LogicalId: {"name": FunctionName, "environment": {...}}}}, each
function's environment read back from Lambda; logs go to stderr.

    python3 infra/local_stack.py --endpoint http://127.0.0.1:5000 --stack rg-dev \\
        --parameter PublicBaseUrl=http://127.0.0.1:8080

Nothing here names a resource of the template: adding a table, a queue or a
function to template.yaml is enough for it to exist locally.
"""

import argparse
import copy
import hashlib
import io
import json
import logging
import re
import sys
import time
import zipfile

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

LOG = logging.getLogger("local_stack")

# moto creates stacks synchronously; the bound only guards against a stack
# that never settles.
DEPLOY_TIMEOUT_SECONDS = 60
# A stack still in progress when we start was left behind by a create that
# crashed inside moto: moto will never finish it.
STUCK_AFTER_SECONDS = 3
POLL_SECONDS = 0.1

PLACEHOLDER_BUCKET = "local-stack-code"
PLACEHOLDER_KEY = "placeholder.zip"
DUMMY_CODE_URI = f"s3://{PLACEHOLDER_BUCKET}/{PLACEHOLDER_KEY}"


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
    # The translator insists on code in S3; local paths are for `sam build`.
    # Locally the bootstraps run outside moto, which only stores the code.
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
# References
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


# ---------------------------------------------------------------------------
# What moto's CloudFormation cannot create
# ---------------------------------------------------------------------------

# Resource types moto's CloudFormation creates itself.
CLOUDFORMATION_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::IAM::Role",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
    }
)

# Resource types moto's CloudFormation cannot create ("No Moto CloudFormation
# support"), with the reason each is still needed and how it is made instead,
# through the service's own API in moto. "before" types are made before the
# stack, because stack resources refer to them (their properties may only
# use parameters); "after" types are made from the stack's resources.
AWS_API_CREATED = {
    "AWS::SecretsManager::Secret": (
        "before",
        "the API and sender read the admin token and signing keys from it; generated as CloudFormation would",
    ),
    "AWS::SES::ConfigurationSet": ("before", "the sender sends every digest through it"),
    "AWS::SES::EmailIdentity": (
        "before",
        "the sending domain, so moto accepts mail from it; made with its DKIM key length and default "
        "configuration set (SES v2 CreateEmailIdentity) and its MAIL FROM domain (SES v1 "
        "SetIdentityMailFromDomain: moto has no v2 call for it); moto turns DKIM signing on with the signing "
        "attributes; its DKIM tokens are made up, as moto has none",
    ),
    "AWS::CloudWatch::Alarm": ("after", "the operations alarms (moto stores them; they never fire)"),
    "AWS::ApiGatewayV2::Api": (
        "before",
        "its id is in the sender's base URL and the ApiUrl output; its routes are imported after the stack",
    ),
    "AWS::ApiGatewayV2::Stage": ("after", "the API's $default stage"),
    "AWS::SES::ConfigurationSetEventDestination": ("after", "bounces and complaints go to the feedback topic"),
    "AWS::SNS::Subscription": (
        "after",
        "the feedback queue's subscription to the feedback topic (moto delivers what is published there to the "
        "queue, signed) and the alarm e-mail's",
    ),
    "AWS::SNS::TopicPolicy": ("after", "lets SES publish to the feedback topic"),
    "AWS::SQS::QueuePolicy": (
        "after",
        "lets only the feedback topic send to the feedback queues (moto's CloudFormation skips it with a warning)",
    ),
    "AWS::Scheduler::Schedule": ("after", "the ingest and planner schedules (moto stores them; they never fire)"),
    "AWS::SES::ReceiptRuleSet": (
        "before",
        "the inbound unsubscribe rule set (SES v1 CreateReceiptRuleSet), made only with InboundUnsubscribeAddress; "
        "like CloudFormation, this never makes it the active set",
    ),
    "AWS::SES::ReceiptRule": (
        "after",
        "hands mail to the unsubscribe address to the inbound function (SES v1 CreateReceiptRule); moto stores "
        "it and never receives mail: the tests hand the function the event SES would",
    ),
}

# What moto would try to run in Docker, which local runs do not have: the
# runs do it themselves (`make run` consumes the queue in-process; the
# parity test invokes each real bootstrap).
INERT_LOCALLY = {
    "AWS::Lambda::EventSourceMapping": "disabled after the deploy: moto would invoke the sender and the feedback "
    "function in Docker on every message and return it to the queue when that fails; `make run` and the tests "
    "consume the send and feedback queues in-process",
    "AWS::Scheduler::Schedule": "stored, never fired by moto: `make run` runs ingest and planner on their schedules",
    "AWS::CloudWatch::Alarm": "stored, never evaluated: nothing publishes metrics to moto's CloudWatch",
}

# The AWS::CloudWatch::Alarm properties PutMetricAlarm takes under the same
# names.
_ALARM_PROPERTIES = frozenset(
    {
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
        "Metrics",
        "ThresholdMetricId",
    }
)

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}

_RESOLVE_OUTPUT = "LocalStackResolve"


def split_resources(template):
    """The template's resources grouped as "cloudformation", "before" and
    "after"; a type in no group is an error, so a new type is a decision."""
    groups = {"cloudformation": {}, "before": {}, "after": {}}
    for name, resource in template.get("Resources", {}).items():
        rtype = resource.get("Type")
        if rtype in CLOUDFORMATION_TYPES:
            groups["cloudformation"][name] = resource
        elif rtype in AWS_API_CREATED:
            groups[AWS_API_CREATED[rtype][0]][name] = resource
        else:
            raise DeployError(
                f"{name}: no local deployment for {rtype}; add it to CLOUDFORMATION_TYPES or AWS_API_CREATED "
                "in infra/local_stack.py"
            )
    return groups


def parameter_values(template, overrides):
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    for name in overrides:
        if name not in values:
            raise DeployError(f"--parameter {name}: the template has no such parameter")
    values.update(overrides)
    for name, p in template.get("Parameters", {}).items():
        check_parameter(name, p, values[name])
    check_rules(template.get("Rules", {}), values)
    return values


def check_parameter(name, spec, value):
    """Refuse a value CloudFormation would refuse: moto checks none of a
    parameter's constraints."""
    why = spec.get("ConstraintDescription", "")
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        raise DeployError(f"parameter {name}={value!r}: not one of {spec['AllowedValues']}")
    # CloudFormation matches the whole value (Java regular expressions:
    # the patterns of this template mean the same in Python).
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        raise DeployError(f"parameter {name}={value!r}: does not match {spec['AllowedPattern']} {why}".rstrip())
    if len(value) < int(spec.get("MinLength", 0)) or len(value) > int(spec.get("MaxLength", len(value))):
        raise DeployError(f"parameter {name}={value!r}: length out of bounds {why}".rstrip())
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise DeployError(f"parameter {name}={value!r}: not a number") from None
        if number < float(spec.get("MinValue", number)) or number > float(spec.get("MaxValue", number)):
            raise DeployError(f"parameter {name}={value!r}: out of bounds {why}".rstrip())


def check_rules(rules, values):
    """Refuse parameter values the template's Rules refuse, as CloudFormation
    does before it changes anything; moto ignores the section."""
    for rule_name, rule in rules.items():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], values):
            continue
        for assertion in rule.get("Assertions", []):
            if not rule_value(assertion["Assert"], values):
                raise DeployError(f"rule {rule_name}: {assertion.get('AssertDescription', 'an assertion failed')}")


def rule_value(node, values):
    """The value of a rule expression: Ref and the rule functions."""
    if isinstance(node, list):
        return [rule_value(v, values) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((fn, args),) = node.items()
        if fn == "Ref":
            if args not in values:
                raise DeployError(f"rules: Ref {args}: not a parameter")
            return values[args]
        if fn in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn"):
            a = rule_value(args, values)
            if fn == "Fn::Equals":
                return str(a[0]) == str(a[1])
            if fn == "Fn::Not":
                return not a[0]
            if fn == "Fn::And":
                return all(a)
            if fn == "Fn::Or":
                return any(a)
            if fn == "Fn::Contains":
                return str(a[1]) in [str(x) for x in a[0]]
            if fn == "Fn::EachMemberEquals":
                return all(str(x) == str(a[1]) for x in a[0])
            return all(str(x) in [str(y) for y in a[1]] for x in a[0])
    raise DeployError(f"rules: {json.dumps(node, default=str)}: not a rule function local_stack evaluates")


def substitute(node, values):
    """node with every Ref, GetAtt and ${...} of a name in values replaced by
    its value; values maps "Name" (Ref) and "Name.Attr" (GetAtt)."""
    if isinstance(node, list):
        return [substitute(v, values) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, v),) = node.items()
        if key == "Ref" and isinstance(v, str) and v in values:
            return values[v]
        if key == "Fn::GetAtt":
            name = ".".join(v) if isinstance(v, list) else v
            if name in values:
                return values[name]
        if key == "Fn::Sub":
            text, local_vars = (v[0], v[1]) if isinstance(v, list) else (v, {})

            def fill(match):
                name = match.group(1)
                if name in values and name not in local_vars:
                    return values[name]
                return match.group(0)

            text = _SUB_VARIABLE.sub(fill, text)
            local_vars = substitute(local_vars, values)
            return {"Fn::Sub": [text, local_vars] if local_vars else text}
    return {k: substitute(v, values) for k, v in node.items()}


def resolve_static(node, values, where):
    """Resolve node using only values (parameters, pseudo parameters, what
    was made before the stack); anything else is an error."""
    node = substitute(node, values)
    if isinstance(node, list):
        return [resolve_static(v, values, where) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and next(iter(node)) == "Fn::Sub":
        text = node["Fn::Sub"]
        if isinstance(text, str) and not _SUB_VARIABLE.search(text):
            return text.replace("${!", "${")
    unresolved = references(node)
    if unresolved:
        raise DeployError(f"{where}: cannot be made before the stack: it refers to {', '.join(sorted(unresolved))}")
    return {k: resolve_static(v, values, where) for k, v in node.items()}


def before_in_order(resources):
    """The "before" resources, each after those its properties refer to
    (an identity names its configuration set), else by name."""
    pending = dict(sorted(resources.items()))
    while pending:
        ready = [n for n, r in pending.items() if not references(r.get("Properties", {})) & (pending.keys() - {n})]
        if not ready:
            raise DeployError(f"{', '.join(pending)}: refer to each other; none can be made first")
        for name in ready:
            yield name, pending.pop(name)


def evaluate_condition(node, conditions, values):
    """The value of a template condition (its name, or an expression) with
    the parameters' values: conditions may only refer to parameters and
    other conditions."""
    if isinstance(node, str):
        if node not in conditions:
            raise DeployError(f"condition {node}: the template has no such condition")
        return evaluate_condition(conditions[node], conditions, values)
    if isinstance(node, dict) and len(node) == 1:
        ((fn, args),) = node.items()
        if fn == "Condition":
            return evaluate_condition(args, conditions, values)
        if fn == "Fn::Equals":
            a, b = (str(resolve_static(x, values, "condition")) for x in args)
            return a == b
        if fn == "Fn::Not":
            return not evaluate_condition(args[0], conditions, values)
        if fn == "Fn::And":
            return all(evaluate_condition(x, conditions, values) for x in args)
        if fn == "Fn::Or":
            return any(evaluate_condition(x, conditions, values) for x in args)
    raise DeployError(f"condition {json.dumps(node, default=str)}: not a condition function local_stack evaluates")


def intrinsic_leaves(node, found):
    """Collect the intrinsic-function nodes of a property tree: the parts
    CloudFormation has to evaluate."""
    if isinstance(node, list):
        for v in node:
            intrinsic_leaves(v, found)
    elif isinstance(node, dict):
        if len(node) == 1 and (next(iter(node)) == "Ref" or next(iter(node)).startswith("Fn::")):
            found.append(node)
        else:
            for v in node.values():
                intrinsic_leaves(v, found)


def replace_leaves(node, resolved):
    if isinstance(node, list):
        return [replace_leaves(v, resolved) for v in node]
    if isinstance(node, dict):
        key = json.dumps(node, sort_keys=True, default=str)
        if key in resolved:
            return resolved[key]
        return {k: replace_leaves(v, resolved) for k, v in node.items()}
    return node


class LocalDeployment:
    """Deploys a template into moto: the CloudFormation stack and what is
    made around it."""

    def __init__(self, endpoint, region, stack):
        self.stack = stack
        self.region = region

        def client(service):
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )

        self.client = client
        self.cfn = client("cloudformation")

    def deploy(self, template, overrides):
        groups = split_resources(template)
        params = parameter_values(template, overrides)
        values = dict(PSEUDO_PARAMETERS, **{"AWS::Region": self.region, "AWS::StackName": self.stack}, **params)

        # A resource made here under a condition that is false is not made,
        # as CloudFormation would not create it.
        conditions = template.get("Conditions", {})
        for group in ("before", "after"):
            groups[group] = {
                name: r
                for name, r in groups[group].items()
                if "Condition" not in r or evaluate_condition(r["Condition"], conditions, values)
            }

        made = {}
        for name, resource in before_in_order(groups["before"]):
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::ApiGatewayV2::Api":
                props = {}  # its body refers to the function: imported after the stack
            made.update(self._make(name, resource["Type"], resolve_static(props, dict(values, **made), name)))

        stack_template = {k: v for k, v in template.items() if k not in ("Resources", "Outputs", "Transform")}
        stack_template["Resources"] = substitute(groups["cloudformation"], made)
        outputs = substitute(template.get("Outputs", {}), made)
        # CloudFormation resolves what the "after" resources refer to, as
        # hidden outputs of the stack.
        after = substitute(groups["after"], made)
        leaves = []
        intrinsic_leaves(after, leaves)
        api_bodies = {
            name: substitute(r.get("Properties", {}).get("Body", {}), made)
            for name, r in groups["before"].items()
            if r["Type"] == "AWS::ApiGatewayV2::Api"
        }
        intrinsic_leaves(api_bodies, leaves)
        for i, leaf in enumerate(leaves):
            outputs[f"{_RESOLVE_OUTPUT}{i}"] = {"Value": leaf}
        stack_template["Outputs"] = outputs

        self._deploy_stack(stack_template, params)
        stack_outputs = self.outputs()
        resolved = {
            json.dumps(leaf, sort_keys=True, default=str): stack_outputs.pop(f"{_RESOLVE_OUTPUT}{i}")
            for i, leaf in enumerate(leaves)
        }
        for name, body in api_bodies.items():
            self._import_api(made[name], replace_leaves(body, resolved))
        for name, resource in sorted(replace_leaves(after, resolved).items()):
            self._make(name, resource["Type"], resource.get("Properties", {}))
        self._disable_event_source_mappings()
        self._enable_time_to_live(groups["cloudformation"])
        return stack_outputs

    # -- resources made through their service's API --------------------------

    def _physical_name(self, logical):
        return f"{self.stack}-{logical}"

    def _make(self, name, rtype, props):
        """Make one resource; returns what references to it resolve to."""
        LOG.info("%s (%s): made through its service's API", name, rtype)
        maker = {
            "AWS::SecretsManager::Secret": self._make_secret,
            "AWS::SES::ConfigurationSet": self._make_configuration_set,
            "AWS::SES::EmailIdentity": self._make_email_identity,
            "AWS::CloudWatch::Alarm": self._make_alarm,
            "AWS::ApiGatewayV2::Api": self._make_api,
            "AWS::ApiGatewayV2::Stage": self._make_stage,
            "AWS::SES::ConfigurationSetEventDestination": self._make_event_destination,
            "AWS::SNS::Subscription": self._make_subscription,
            "AWS::SNS::TopicPolicy": self._make_topic_policy,
            "AWS::SQS::QueuePolicy": self._make_queue_policy,
            "AWS::Scheduler::Schedule": self._make_schedule,
            "AWS::SES::ReceiptRuleSet": self._make_receipt_rule_set,
            "AWS::SES::ReceiptRule": self._make_receipt_rule,
        }[rtype]
        return maker(name, props)

    def _make_secret(self, name, props):
        sm = self.client("secretsmanager")
        secret_name = props.get("Name") or self._physical_name(name)
        try:
            arn = sm.describe_secret(SecretId=secret_name)["ARN"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            arn = sm.create_secret(
                Name=secret_name,
                Description=props.get("Description", ""),
                SecretString=self._secret_string(sm, props),
            )["ARN"]
        return {name: arn, f"{name}.Id": arn}

    @staticmethod
    def _secret_string(sm, props):
        if "SecretString" in props:
            return props["SecretString"]
        spec = dict(props.get("GenerateSecretString", {}))
        template, key = spec.pop("SecretStringTemplate", None), spec.pop("GenerateStringKey", None)
        allowed = {
            "PasswordLength",
            "ExcludeCharacters",
            "ExcludeNumbers",
            "ExcludePunctuation",
            "ExcludeUppercase",
            "ExcludeLowercase",
            "IncludeSpace",
            "RequireEachIncludedType",
        }
        password = sm.get_random_password(**{k: v for k, v in spec.items() if k in allowed})["RandomPassword"]
        if template is None:
            return password
        value = json.loads(template)
        value[key] = password
        return json.dumps(value)

    def _make_configuration_set(self, name, props):
        set_name = props.get("Name") or self._physical_name(name)
        try:
            self.client("ses").create_configuration_set(ConfigurationSet={"Name": set_name})
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConfigurationSetAlreadyExists":
                raise
        return {name: set_name}

    def _make_email_identity(self, name, props):
        identity = props["EmailIdentity"]
        args = {"EmailIdentity": identity}
        if "DkimSigningAttributes" in props:
            args["DkimSigningAttributes"] = props["DkimSigningAttributes"]
        config_set = props.get("ConfigurationSetAttributes", {}).get("ConfigurationSetName")
        if config_set:
            args["ConfigurationSetName"] = config_set
        try:
            self.client("sesv2").create_email_identity(**args)
        except ClientError as e:
            if e.response["Error"]["Code"] != "AlreadyExistsException":
                raise
        mail_from = props.get("MailFromAttributes", {})
        if mail_from.get("MailFromDomain"):
            behavior = {"USE_DEFAULT_VALUE": "UseDefaultValue", "REJECT_MESSAGE": "RejectMessage"}
            self.client("ses").set_identity_mail_from_domain(
                Identity=identity,
                MailFromDomain=mail_from["MailFromDomain"],
                BehaviorOnMXFailure=behavior[mail_from.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE")],
            )
        # SES gives three DKIM tokens; moto gives none. Made up, stable per
        # domain, shaped like SES's: <token>._domainkey.<domain> CNAME
        # <token>.dkim.amazonses.com.
        made = {name: identity}
        for i in (1, 2, 3):
            token = hashlib.sha256(f"{identity}#{i}".encode()).hexdigest()[:32]
            made[f"{name}.DkimDNSTokenName{i}"] = f"{token}._domainkey.{identity}"
            made[f"{name}.DkimDNSTokenValue{i}"] = f"{token}.dkim.amazonses.com"
        return made

    def _make_alarm(self, name, props):
        args = {k: v for k, v in props.items() if k in _ALARM_PROPERTIES}
        args.setdefault("AlarmName", self._physical_name(name))
        # Numbers a parameter gave come back from the stack as text.
        if "Threshold" in args:
            args["Threshold"] = float(args["Threshold"])
        for number in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if number in args:
                args[number] = int(args[number])
        self.client("cloudwatch").put_metric_alarm(**args)
        return {}

    def _make_event_destination(self, name, props):
        dest = props["EventDestination"]
        try:
            self.client("ses").create_configuration_set_event_destination(
                ConfigurationSetName=props["ConfigurationSetName"],
                EventDestination={
                    "Name": dest.get("Name", name),
                    "Enabled": dest.get("Enabled", False),
                    "MatchingEventTypes": dest["MatchingEventTypes"],
                    "SNSDestination": {"TopicARN": dest["SnsDestination"]["TopicARN"]},
                },
            )
        except ClientError as e:
            if e.response["Error"]["Code"] != "EventDestinationAlreadyExists":
                raise
        return {}

    def _make_api(self, name, _props):
        api = self.client("apigatewayv2")
        api_name = self._physical_name(name)
        existing = [a for a in api.get_apis().get("Items", []) if a["Name"] == api_name]
        api_id = existing[0]["ApiId"] if existing else api.create_api(Name=api_name, ProtocolType="HTTP")["ApiId"]
        return {name: api_id, f"{name}.ApiId": api_id, f"{name}.ApiEndpoint": api_endpoint(api_id, self.region)}

    def _import_api(self, api_id, body):
        self.client("apigatewayv2").reimport_api(ApiId=api_id, Body=json.dumps(body))

    def _make_stage(self, name, props):
        api = self.client("apigatewayv2")
        stages = api.get_stages(ApiId=props["ApiId"]).get("Items", [])
        if not any(s["StageName"] == props["StageName"] for s in stages):
            args = {"ApiId": props["ApiId"], "StageName": props["StageName"], "AutoDeploy": props.get("AutoDeploy", False)}
            # The API's throttling (Globals.HttpApi); numbers, which the
            # stack's outputs gave back as text.
            routes = props.get("DefaultRouteSettings")
            if routes:
                args["DefaultRouteSettings"] = {
                    "ThrottlingBurstLimit": int(routes["ThrottlingBurstLimit"]),
                    "ThrottlingRateLimit": float(routes["ThrottlingRateLimit"]),
                }
            api.create_stage(**args)
        return {}

    # The subscription properties that are subscription attributes in SNS's
    # API; a policy is JSON there, a flag "true" or "false".
    _SUBSCRIPTION_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")

    def _make_subscription(self, name, props):
        attributes = {}
        for key in self._SUBSCRIPTION_ATTRIBUTES:
            if key not in props:
                continue
            value = props[key]
            if isinstance(value, (dict, list)):
                attributes[key] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[key] = "true" if value else "false"
            else:
                attributes[key] = str(value)
        # Subscribing again with the same endpoint and attributes returns
        # the existing subscription, so a redeploy adds none.
        self.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
        return {}

    def _make_topic_policy(self, name, props):
        sns = self.client("sns")
        for topic in props["Topics"]:
            sns.set_topic_attributes(
                TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
            )
        return {}

    def _make_queue_policy(self, name, props):
        sqs = self.client("sqs")
        for queue_url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        return {}

    def _make_schedule(self, name, props):
        scheduler = self.client("scheduler")
        args = {k: v for k, v in props.items() if k != "Name"}
        args["Name"] = props.get("Name") or self._physical_name(name)
        try:
            scheduler.create_schedule(**args)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConflictException":
                raise
            scheduler.update_schedule(**args)
        return {}

    def _make_receipt_rule_set(self, name, props):
        set_name = props.get("RuleSetName") or self._physical_name(name)
        try:
            self.client("ses").create_receipt_rule_set(RuleSetName=set_name)
        except ClientError as e:
            if e.response["Error"]["Code"] != "AlreadyExists":
                raise
        return {name: set_name}

    # The receipt rule properties CreateReceiptRule takes under the same
    # names; a flag comes back from the stack's outputs as text.
    _RECEIPT_RULE_FLAGS = ("Enabled", "ScanEnabled")

    def _make_receipt_rule(self, name, props):
        rule = dict(props["Rule"])
        rule.setdefault("Name", self._physical_name(name))
        for flag in self._RECEIPT_RULE_FLAGS:
            if isinstance(rule.get(flag), str):
                rule[flag] = rule[flag].lower() == "true"
        ses = self.client("ses")
        try:
            ses.create_receipt_rule(RuleSetName=props["RuleSetName"], Rule=rule)
        except ClientError as e:
            if e.response["Error"]["Code"] != "AlreadyExists":
                raise
            ses.update_receipt_rule(RuleSetName=props["RuleSetName"], Rule=rule)
        return {}

    def _enable_time_to_live(self, resources):
        """Turn on each table's TTL: moto's CloudFormation ignores
        TimeToLiveSpecification (and moto never expires items)."""
        tables = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in self.cfn.list_stack_resources(StackName=self.stack)["StackResourceSummaries"]
            if r["ResourceType"] == "AWS::DynamoDB::Table"
        }
        ddb = self.client("dynamodb")
        for name, resource in resources.items():
            spec = resource.get("Properties", {}).get("TimeToLiveSpecification")
            if resource["Type"] != "AWS::DynamoDB::Table" or not spec or name not in tables:
                continue
            ddb.update_time_to_live(
                TableName=tables[name],
                TimeToLiveSpecification={"Enabled": bool(spec["Enabled"]), "AttributeName": spec["AttributeName"]},
            )

    def _disable_event_source_mappings(self):
        lam = self.client("lambda")
        for fn in self.functions().values():
            for mapping in lam.list_event_source_mappings(FunctionName=fn["name"]).get("EventSourceMappings", []):
                if mapping.get("State") != "Disabled":
                    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

    # -- the stack -------------------------------------------------------------

    def _deploy_stack(self, template, params):
        s3 = self.client("s3")
        # The functions' code: moto stores it and never runs it; the
        # bootstraps run outside moto (see internal/lambdalocal).
        try:
            s3.create_bucket(Bucket=PLACEHOLDER_BUCKET)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        s3.put_object(Bucket=PLACEHOLDER_BUCKET, Key=PLACEHOLDER_KEY, Body=placeholder_zip())
        used = references(template)
        parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items()) if k in used]
        template["Parameters"] = {k: v for k, v in template.get("Parameters", {}).items() if k in used}
        deploy(self.cfn, self.stack, template, parameters)

    def outputs(self):
        return stack_outputs(self.cfn, self.stack)

    def functions(self):
        """The stack's functions, {LogicalId: {"name": ..., "environment":
        {...}}}, the environment as Lambda's GetFunctionConfiguration reports
        it: what each function runs with."""
        lam = self.client("lambda")
        resources = self.cfn.list_stack_resources(StackName=self.stack)["StackResourceSummaries"]
        functions = {}
        for r in resources:
            if r["ResourceType"] != "AWS::Lambda::Function":
                continue
            name = r["PhysicalResourceId"]
            variables = lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
            # Lambda holds strings only; moto keeps a Number parameter's type.
            functions[r["LogicalResourceId"]] = {
                "name": name,
                "environment": {k: str(v) for k, v in variables.items()},
            }
        return functions


def api_endpoint(api_id, region):
    return f"https://{api_id}.execute-api.{region}.amazonaws.com"


def placeholder_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\necho 'moto does not run this; see internal/lambdalocal' >&2\nexit 1\n")
    return buf.getvalue()


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


_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


def deploy(cfn, stack, template, parameters):
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
        cfn.create_stack(StackName=stack, TemplateBody=body, Parameters=parameters, Capabilities=_CAPABILITIES)
        _wait(cfn, stack, "create")
        return

    LOG.info("updating stack %s (was %s)", stack, status)
    try:
        cfn.update_stack(StackName=stack, TemplateBody=body, Parameters=parameters, Capabilities=_CAPABILITIES)
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
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter's value (repeatable)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the expanded CloudFormation template instead of deploying it"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
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
        overrides = dict(parse_parameter(p) for p in args.parameter)
        template = expand_sam(load_template(args.template), args.region)
        if args.dry_run:
            json.dump(template, sys.stdout, indent=2, sort_keys=True, default=str)
            sys.stdout.write("\n")
            return 0
        local = LocalDeployment(args.endpoint, args.region, args.stack)
        outputs = local.deploy(template, overrides)
        functions = local.functions()
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

    json.dump({"outputs": outputs, "functions": functions}, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def parse_parameter(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise DeployError(f"--parameter {text!r}: want KEY=VALUE")
    return key, value


if __name__ == "__main__":
    sys.exit(main())
