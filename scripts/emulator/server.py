"""reauth's local AWS emulator: moto's server plus what moto cannot do on its own.

1. A clock. POST /_reauth/clock {"at": "<ISO-8601>"} freezes time (freezegun) for the whole process,
   so resources created and keys used while it is frozen carry that date; DELETE /_reauth/clock
   lets time run again. moto runs in this process (not as a subprocess) so the freeze reaches it.
2. Secrets Manager's LastAccessedDate: GetSecretValue records it, truncated to the UTC day as AWS does
   (moto leaves it empty).
3. DynamoDB transactions that scale: moto deep-copies every table a transaction touches, to roll
   back on failure, so each write costs the size of the table (minutes for a few thousand decisions),
   and without a lock a concurrent request can change a table mid-copy (an HTTP 500). Here
   transactions take turns, as DynamoDB isolates them, and only the items they touch are saved.
   Single-item writes take the same turns: moto checks a condition and writes the item as two steps,
   so two threads' conditional puts of one item could both succeed; in DynamoDB only one does.
4. The credential report is a snapshot taken when it is generated, with that GeneratedTime, as in
   AWS (moto builds it live on every read and answers a fixed 2015 date): a key used after the
   report was generated shows only in GetAccessKeyLastUsed, until the next report.
5. TransactWriteItems honours ClientRequestToken, as DynamoDB does: a transaction retried with the
   token of one that succeeded in the last 10 minutes succeeds again without being applied again, and
   the token reused with other parameters fails with IdempotentParameterMismatchException. (moto
   applies the retry, so a response lost after the write made the SDK's retry write twice.) The
   window is measured on the emulator's clock, frozen or not: a retry follows its first attempt at
   the same frozen instant, and a test that moves the clock past the window sees tokens expire as
   they would in AWS. A reset forgets every token (they live on the backend moto rebuilds).
6. Where a credential was last used. The credential report carries each key's
   `access_key_N_last_used_region` and `_service` (moto writes `not_supported`; AWS writes `N/A` for a
   key never used), and a role used through AssumeRole credentials gets `RoleLastUsed.Region` (moto
   records only the date). Both come from the request moto already marks as the key's last use.
7. Step Functions runs state machines: moto's interpreter of ASL (LocalStack's) is switched on
   (moto's `stepfunctions.execute_state_machine` config; `POST /moto-api/config` can still turn it
   off), and its service integrations reach this server (moto sends them to `localhost:$MOTO_PORT`).
8. A Lambda bridge. moto's Lambda runs code in Docker, which we do not have, so a Lambda task of a
   registered function is POSTed to a bridge instead (scripts/emulator/lambda-bridge.ts runs reauth's
   Node handlers): POST /_reauth/lambda-bridge {"url": "http://127.0.0.1:<port>", "functions":
   ["<name or ARN>", ...]} registers them (a reset forgets them). The bridge gets {"functionName",
   "payload"} and answers {"result": ...} or {"error": {"errorType", "errorMessage", "trace"}}; an
   error reaches the state machine as a Lambda function error named errorType, as in AWS, so Retry
   and Catch match on it. The function need not exist in moto's Lambda. Lambda's Invoke API
   (POST /2015-03-31/functions/<name>/invocations) of a registered function goes to the bridge too,
   as the enforcer invokes the session policy writer.
9. `ToleratedFailurePercentage` parses: moto's grammar wants a decimal there and rejects an integer
   such as CDK writes (`50`), so integers in that field are written `50.0` before moto parses a
   definition. moto still does not apply it (see the README).
10. ResultWriter writes the results. moto writes only an empty manifest; here the Map's child
   results go to `<prefix>/<map run id>/SUCCEEDED_0.json` (AWS's shape: one entry per child with
   its Output as a JSON string) and the manifest lists the file.
11. AssumeRole into a role that does not exist fails with AccessDenied, as in AWS, when the role's account
   is a member of an emulated organization (moto hands out credentials for any ARN). Other accounts keep
   moto's behaviour.
12. AWS managed policies are loaded (moto's `iam.load_aws_managed_policies`, off by default), with the
   documents moto copies from AWS: `arn:aws:iam::aws:policy/AdministratorAccess` can be attached and read.
   Only those a change commonly attaches (`AWS_MANAGED_POLICIES` below), since moto builds them for
   every account's IAM after every reset.
13. Every account holds `arn:aws:iam::<account>:policy/reauth/reauth-disabled`, which reauth's stack
   (or its member StackSet) creates where it acts: reauth disables a role by attaching it.

14. Attaching an 11th managed policy to a user or role fails with LimitExceeded, IAM's default quota.
15. CloudTrail's event history (moto has no LookupEvents). The creations reauth reads a creator from
   (IAM's CreateUser, CreateAccessKey, CreateRole, CreateLoginProfile; Secrets Manager's CreateSecret)
   are recorded as CloudTrail records them: the caller as `userIdentity` (an IAM user, an assumed role's
   session with its issuer and the SourceIdentity given to AssumeRole, else the account's root), the
   request's parameters less secrets, the response's entity less secrets, `errorCode` when the call
   failed, and the emulator's clock as `eventTime`. IAM's are kept in us-east-1's history (IAM is
   global), a secret's in its region's. LookupEvents reads them, newest first, 90 days back, by one
   lookup attribute, StartTime and EndTime, in pages (MaxResults, NextToken). No other call is recorded.
16. GetAccountAuthorizationDetails pages as IAM does (MaxItems, 100 by default, and Marker): moto answers
   every entity in one page, which made the scan's memory bench parse one page of 5,000 users at
   10,000 keys where AWS sends at most 1,000 entities a page.
17. Console passwords. A login profile is dated when it is made (moto gives the user's creation), on the
   emulator's clock: its CreateDate and the credential report's `password_last_changed` (`N/A` without
   one, as AWS). CreateLoginProfile honours PasswordResetRequired (moto drops it). And a console sign-in,
   which moto has no way to make: POST /_reauth/console-sign-in {"account": "<id>", "user": "<name>"}
   records one at the emulator's clock, shown as the report's `password_last_used` and GetUser's
   PasswordLastUsed; a user without a login profile cannot sign in (HTTP 409).
18. KMS signs and verifies a digest as KMS does: with `MessageType: DIGEST` the message is the hash, signed
   as it is (moto ignores MessageType and hashes the digest again, a signature no one else verifies).
   ECDSA keys only, which are the ones reauth signs with; RSA keys keep moto's behaviour.
19. A user's credentials with a status. The credential report dates signing certificates
   (`cert_N_last_rotated`, the upload; moto writes `N/A`). Service-specific credentials, which moto
   lacks: CreateServiceSpecificCredential (two per service and user, as IAM's quota; the password in
   the response only), ListServiceSpecificCredentials of one user or of all (`AllUsers`, paged by
   MaxItems and Marker, filtered by ServiceName), UpdateServiceSpecificCredential (Active, Inactive) and
   DeleteServiceSpecificCredential, dated on the emulator's clock. (SSH public keys and certificates
   have a status in moto already.)
20. Service last-accessed data (moto has none): GenerateServiceLastAccessedDetails (Arn, Granularity
   SERVICE_LEVEL or ACTION_LEVEL) answers a JobId; GetServiceLastAccessedDetails answers IN_PROGRESS on
   the first read of a job and COMPLETED after (MaxItems and Marker page it), or FAILED for a principal
   seeded to fail. ServicesLastAccessed lists every service the principal's policies allow (its attached
   and inline policies, and a user's groups'; `*` and `NotAction` grant every service AWS's managed
   policies name), each with LastAuthenticated and TotalAuthenticatedEntities, from the calls the
   emulator saw signed by the principal's keys or its assumed-role sessions, at the emulator's clock
   (so uses are dated as last-used dates are: freeze the clock, then call). ACTION_LEVEL adds
   TrackedActionsLastAccessed for the services IAM tracks actions of (TRACKED_ACTION_SERVICES). The data
   is the principal's at the job's creation, as IAM's. And a seed for demos and what moto cannot serve:
   POST /_reauth/service-usage {"arn": "<user or role ARN>", "service": "<namespace>", "actions":
   ["GetObject"]} records a use now, {"arn", "failJobs": true} makes that principal's jobs FAIL.
Usage: python server.py [port]   (0 or nothing: a free loopback port). Prints "READY <port>" once it
serves, and exits when its stdin closes, so a crashed parent never leaves it behind.
"""

import base64
import copy
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qs, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from freezegun import freeze_time
import moto.iam.models as iam_models
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.exceptions import LimitExceededException, NotFoundException, ValidationError
from moto.iam.utils import random_resource_id
from moto.iam.models import AWSManagedPolicy, IAMBackend, User
from moto.settings import load_iam_aws_managed_policies
from moto.iam.responses import IamResponse
from moto.kms.responses import KmsResponse
from moto.kms.utils import ECDSAPrivateKey, validate_signing_algorithm
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow
from moto.core.responses import ActionResult, EmptyResult
from moto.core.config import default_user_config
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.organizations.models import organizations_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend, sts_backends
from moto.sts.responses import TokenResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLOCK_PATH = "/_reauth/clock"
RESET_PATH = "/moto-api/reset"
BRIDGE_PATH = "/_reauth/lambda-bridge"
CONSOLE_SIGN_IN_PATH = "/_reauth/console-sign-in"

_clock_lock = threading.Lock()
_freezer = None


def set_clock(at):
    """Freezes time at `at` (ISO-8601), or lets it run again when `at` is None."""
    global _freezer
    with _clock_lock:
        if _freezer is not None:
            _freezer.stop()
            _freezer = None
        if at is not None:
            _freezer = freeze_time(at)
            _freezer.start()


_get_secret_value = SecretsManagerBackend.get_secret_value
_secret_to_dict = FakeSecret.to_dict


def get_secret_value(self, secret_id, *args, **kwargs):
    response = _get_secret_value(self, secret_id, *args, **kwargs)
    now = int(time.time())
    self.secrets[secret_id].reauth_last_accessed = now - now % 86400
    return response


def secret_to_dict(self):
    described = _secret_to_dict(self)
    described["LastAccessedDate"] = getattr(self, "reauth_last_accessed", None)
    return described


SecretsManagerBackend.get_secret_value = get_secret_value
FakeSecret.to_dict = secret_to_dict

_transact_write_items = DynamoDBBackend.transact_write_items
# Reentrant: the token check below holds it around the whole transaction, which takes it again.
_transactions = threading.RLock()


class _CopyButNotTables:
    """moto.dynamodb.models' `copy`, minus the whole-table snapshot (transact_write_items saves items)."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value, *args):
        return value if isinstance(value, Table) else copy.deepcopy(value, *args)


dynamodb_models.copy = _CopyButNotTables


def transact_write_items(self, transact_items, *args, **kwargs):
    with _transactions:
        saved = []
        for entry in transact_items:
            operation = next(iter(entry.values()))
            table = self.tables.get(operation.get("TableName"))
            key = operation.get("Key") or operation.get("Item") or {}
            if table is None or table.hash_key_attr not in key:
                continue  # moto rejects it before changing anything
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            if table.has_range_key and range_key is None:
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            return _transact_write_items(self, transact_items, *args, **kwargs)
        except Exception:
            for table, hash_key, range_key, before in reversed(saved):
                if before is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is None:
                    table.items[hash_key] = before
                else:
                    table.items[hash_key][range_key] = before
            raise


DynamoDBBackend.transact_write_items = transact_write_items


def one_at_a_time(write):
    """A single-item write under the transactions' lock: its condition is checked and the item written
    as one step, as DynamoDB does, so two conditional puts of one lease cannot both succeed."""

    def locked(self, *args, **kwargs):
        with _transactions:
            return write(self, *args, **kwargs)

    return locked


for _write in ("put_item", "update_item", "delete_item"):
    setattr(DynamoDBBackend, _write, one_at_a_time(getattr(DynamoDBBackend, _write)))

IDEMPOTENCY_WINDOW_SECONDS = 600
_handle_transact_write_items = DynamoHandler.transact_write_items


class IdempotentParameterMismatch(JsonRESTError):
    def __init__(self):
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "The ClientRequestToken was already used for a transaction with different parameters",
        )


def transact_write_items_once(self):
    # The token is only visible here (the backend gets the items alone); the SDK fills it in once
    # per call, before its retries, so every retry of one call carries the same token.
    token = self.body.get("ClientRequestToken")
    if not token:
        return _handle_transact_write_items(self)
    parameters = {name: value for name, value in self.body.items() if name != "ClientRequestToken"}
    fingerprint = hashlib.sha256(json.dumps(parameters, sort_keys=True, default=repr).encode()).hexdigest()
    backend = self.dynamodb_backend
    with _transactions:  # check, apply and remember as one step: a concurrent retry waits its turn
        seen = backend.__dict__.setdefault("reauth_transaction_tokens", {})
        now = time.time()
        # Oldest first (insertion order): drop what has left the window. A clock moved backwards
        # (age < 0) stops the sweep rather than forgetting tokens early.
        while seen:
            oldest = next(iter(seen))
            if now - seen[oldest][0] < IDEMPOTENCY_WINDOW_SECONDS:
                break
            del seen[oldest]
        if token in seen and 0 <= now - seen[token][0] < IDEMPOTENCY_WINDOW_SECONDS:
            if seen[token][1] != fingerprint:
                raise IdempotentParameterMismatch()
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        response = _handle_transact_write_items(self)  # a failed transaction raises: not remembered
        seen.pop(token, None)
        seen[token] = (now, fingerprint)
        return response


DynamoHandler.transact_write_items = transact_write_items_once

_generate_report = IAMBackend.generate_report
_get_credential_report = IamResponse.get_credential_report


_build_report = IAMBackend.get_credential_report


def generate_report(self):
    _generate_report(self)
    self.reauth_report_generated = time.time()
    self.reauth_report = _build_report(self)


def build_report(self):
    snapshot = getattr(self, "reauth_report", None)
    return snapshot if snapshot is not None else _build_report(self)


def get_credential_report(self):
    result = _get_credential_report(self)
    generated = getattr(self.backend, "reauth_report_generated", None)
    if generated is not None:
        result._result["GeneratedTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(generated))
    return result


_get_account_authorization_details = IamResponse.get_account_authorization_details
_DETAIL_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def get_account_authorization_details(self):
    """moto's answer, paged as IAM pages it: at most MaxItems entities a page (AWS's default 100), users
    first, then groups, roles and policies, with a Marker to the next page."""
    result = _get_account_authorization_details(self)
    details = result._result
    max_items = int(self._get_param("MaxItems") or 100)
    start = int(self._get_param("Marker") or 0)
    entities = [(name, entity) for name in _DETAIL_LISTS for entity in details[name]]
    page = entities[start : start + max_items]
    for name in _DETAIL_LISTS:
        details[name] = [entity for (listed, entity) in page if listed == name]
    if start + max_items < len(entities):
        details["IsTruncated"] = True
        details["Marker"] = str(start + max_items)
    return result


_user_to_csv = User.to_csv


def user_to_csv(self):
    """moto's row, with each key's last-used region and service filled in as AWS fills them."""
    line = _user_to_csv(self)
    fields = line.rstrip("\n").split(",")
    for slot, (region_at, service_at) in enumerate(((11, 12), (16, 17))):
        key = self.access_keys[slot] if slot < len(self.access_keys) else None
        used = key.last_used if key is not None else None
        fields[region_at] = used.region if used is not None else "N/A"
        fields[service_at] = used.service if used is not None else "N/A"
    changed = getattr(self, "reauth_password_changed", None)
    fields[5] = changed.strftime("%Y-%m-%dT%H:%M:%S+00:00") if self.password and changed else "N/A"
    certificates = list(self.signing_certificates.values())
    for slot, at in enumerate((19, 21)):
        cert = certificates[slot] if slot < len(certificates) else None
        fields[at] = cert.upload_date.strftime("%Y-%m-%dT%H:%M:%S+00:00") if cert is not None else "N/A"
    return ",".join(fields) + "\n"


_create_login_profile = IAMBackend.create_login_profile
_create_login_profile_response = IamResponse.create_login_profile
_get_login_profile_response = IamResponse.get_login_profile


def create_login_profile(self, user_name, password):
    user = _create_login_profile(self, user_name, password)
    user.reauth_password_changed = utcnow()
    user.password_reset_required = False
    return user


def login_profile_response(respond):
    """The response with the login profile's own date, and (on creation) the PasswordResetRequired asked."""

    def respond_with_profile(self):
        result = respond(self)
        user = self.backend.get_user(self._get_param("UserName"))
        if respond is _create_login_profile_response:
            user.password_reset_required = self._get_param("PasswordResetRequired") in (True, "true")
        profile = result._result["LoginProfile"]
        profile["CreateDate"] = getattr(user, "reauth_password_changed", None) or user.create_date
        profile["PasswordResetRequired"] = user.password_reset_required
        return result

    return respond_with_profile


# 19. Service-specific credentials, kept on moto's user (a reset rebuilds the users, and forgets them).
SERVICE_CREDENTIALS_PER_SERVICE = 2


def service_credentials_of(user):
    if not hasattr(user, "reauth_service_credentials"):
        user.reauth_service_credentials = []
    return user.reauth_service_credentials


def service_credential_metadata(credential):
    return {key: value for key, value in credential.items() if key != "ServicePassword"}


def find_service_credential(backend, user_name, credential_id):
    for credential in service_credentials_of(backend.get_user(user_name)):
        if credential["ServiceSpecificCredentialId"] == credential_id:
            return credential
    raise NotFoundException(f"No such credential {credential_id} exists")


def create_service_specific_credential(self):
    user = self.backend.get_user(self._get_param("UserName"))
    service = self._get_param("ServiceName")
    owned = service_credentials_of(user)
    if sum(1 for c in owned if c["ServiceName"] == service) >= SERVICE_CREDENTIALS_PER_SERVICE:
        raise LimitExceededException(f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {SERVICE_CREDENTIALS_PER_SERVICE}")
    credential = {
        "CreateDate": utcnow(),
        "ServiceName": service,
        "ServiceUserName": f"{user.name}-at-{self.current_account}",
        "ServicePassword": base64.b64encode(os.urandom(30)).decode(),
        "ServiceSpecificCredentialId": "ACCA" + random_resource_id(17).upper(),
        "UserName": user.name,
        "Status": "Active",
    }
    owned.append(credential)
    return ActionResult({"ServiceSpecificCredential": credential})


def list_service_specific_credentials(self):
    user_name = self._get_param("UserName")
    all_users = self._get_param("AllUsers") in (True, "true")
    if all_users and user_name:
        raise ValidationError("AllUsers cannot be specified together with UserName")
    if not all_users and not user_name:
        raise ValidationError("the emulator needs UserName or AllUsers (it has no caller's user)")
    users = list(self.backend.users.values()) if all_users else [self.backend.get_user(user_name)]
    service = self._get_param("ServiceName")
    listed = [
        service_credential_metadata(c)
        for user in users
        for c in service_credentials_of(user)
        if not service or c["ServiceName"] == service
    ]
    max_items = int(self._get_param("MaxItems") or 100)
    start = int(self._get_param("Marker") or 0)
    result = {"ServiceSpecificCredentials": listed[start : start + max_items], "IsTruncated": False}
    if start + max_items < len(listed):
        result["IsTruncated"] = True
        result["Marker"] = str(start + max_items)
    return ActionResult(result)


def update_service_specific_credential(self):
    status = self._get_param("Status")
    if status not in ("Active", "Inactive"):
        raise ValidationError(f"Status must be Active or Inactive, not {status}")
    credential = find_service_credential(
        self.backend, self._get_param("UserName"), self._get_param("ServiceSpecificCredentialId")
    )
    credential["Status"] = status
    return EmptyResult()


def delete_service_specific_credential(self):
    user = self.backend.get_user(self._get_param("UserName"))
    credential = find_service_credential(self.backend, user.name, self._get_param("ServiceSpecificCredentialId"))
    service_credentials_of(user).remove(credential)
    return EmptyResult()


def console_sign_in(request):
    """Records a console sign-in of a user with a login profile, now (the emulator's clock)."""
    body = json.loads(request.get_data() or b"{}")
    account, name = body.get("account"), body.get("user")
    if not isinstance(account, str) or not isinstance(name, str):
        return Response('{"error": "body must be {\\"account\\": id, \\"user\\": name}"}', 400)
    try:
        user = iam_models.iam_backends[account]["aws"].get_user(name)
    except Exception:
        return Response(json.dumps({"error": f"no user {name} in {account}"}), 404)
    if not user.password:
        return Response(json.dumps({"error": f"{name} has no login profile"}), 409)
    user.password_last_used = utcnow()
    return Response(json.dumps({"signedInAt": user.password_last_used.isoformat()}), 200, mimetype="application/json")


_mark_account_as_visited = iam_models.mark_account_as_visited


def mark_account_as_visited(account_id, access_key, service, region):
    _mark_account_as_visited(account_id=account_id, access_key=access_key, service=service, region=region)
    try:
        backend = iam_models.iam_backends[account_id][iam_models.get_partition(region)]
        key = backend.access_keys.get(access_key)
        if key is not None and key.role_arn:
            backend.get_role_by_arn(key.role_arn).last_used_region = region
        # 19: the principal's use of the service (a user's key, or a role's session), for its last-accessed data
        principal = key.role_arn if key is not None and key.role_arn else None
        if key is not None and principal is None and key.user_name:
            principal = backend.get_user(key.user_name).arn
        if principal:
            record_service_use(principal, service, region, getattr(_current_action, "name", None))
    except Exception:  # an unknown account, key or role: moto ignores those too
        pass


_assume_role = STSBackend.assume_role


class AccessDenied(STSClientError):
    code = "AccessDenied"


def assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs):
    account_id = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    if account_id in organizations_backends.master_accounts:
        try:
            iam_models.iam_backends[account_id][iam_models.get_partition(region_name)].get_role_by_arn(role_arn)
        except Exception:
            raise AccessDenied(f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    return _assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs)


STSBackend.assume_role = assume_role
User.to_csv = user_to_csv
iam_models.mark_account_as_visited = mark_account_as_visited
IAMBackend.generate_report = generate_report
IAMBackend.get_credential_report = build_report
IamResponse.get_credential_report = get_credential_report
IamResponse.get_account_authorization_details = get_account_authorization_details
IAMBackend.create_login_profile = create_login_profile
IamResponse.create_login_profile = login_profile_response(_create_login_profile_response)
IamResponse.get_login_profile = login_profile_response(_get_login_profile_response)
IamResponse.create_service_specific_credential = create_service_specific_credential
IamResponse.list_service_specific_credentials = list_service_specific_credentials
IamResponse.update_service_specific_credential = update_service_specific_credential
IamResponse.delete_service_specific_credential = delete_service_specific_credential


default_user_config["stepfunctions"] = {"execute_state_machine": True}
# AWS managed policies exist, with AWS's documents (moto ships its copies of them): a trust change
# attaching AdministratorAccess or AWSCompromisedKeyQuarantineV2 is judged by the document IAM returns
# for it. Not all 1,600: moto builds every one for each account's IAM, again after every reset, which
# made the fault scenarios a third slower. These are the ones a change commonly attaches (AWS's
# quarantine and deny-all, the job-function policies, the broad service ones); any other reads as
# deleted, which reauth counts as a widening and says so.
AWS_MANAGED_POLICIES = (
    "AWSCompromisedKeyQuarantine",
    "AWSCompromisedKeyQuarantineV2",
    "AWSCompromisedKeyQuarantineV3",
    "AWSDenyAll",
    "AdministratorAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
    "ViewOnlyAccess",
    "SecurityAudit",
    "IAMFullAccess",
    "IAMReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonEC2FullAccess",
    "AmazonSQSFullAccess",
    "AmazonDynamoDBFullAccess",
    "SecretsManagerReadWrite",
    "AWSLambda_FullAccess",
)
default_user_config["iam"] = {"load_aws_managed_policies": True}
_aws_managed_policies = {
    name: data
    for name, data in json.loads(aws_managed_policies_data).items()
    if name in AWS_MANAGED_POLICIES
}


def init_aws_policies(self):
    if not load_iam_aws_managed_policies():
        return []
    return [
        AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
        for name, data in _aws_managed_policies.items()
    ]


IAMBackend._init_aws_policies = init_aws_policies

# reauth's stack (or its member StackSet) creates `/reauth/reauth-disabled` in every account it acts
# in; here every account has it, as if deployed there. Its document is reauth's (reauth-marks.ts).
REAUTH_DISABLED_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "ReauthDisabled", "Effect": "Deny", "Action": "*", "Resource": "*"}],
})
_iam_init = IAMBackend.__init__


def iam_init(self, region_name, account_id):
    _iam_init(self, region_name, account_id)
    self.create_policy(
        "reauth: disables a role (a deny of everything); attached and detached by reauth, created by its stack",
        "/reauth/",
        REAUTH_DISABLED_POLICY,
        "reauth-disabled",
        [],
    )


IAMBackend.__init__ = iam_init

# IAM's quota of managed policies attached to one user or role: 10 by default (moto has none).
POLICIES_PER_PRINCIPAL = 10


def within_quota(attach, get_principal):
    def attach_within_quota(self, policy_arn, name):
        principal = get_principal(self, name)
        if policy_arn not in principal.managed_policies and len(principal.managed_policies) >= POLICIES_PER_PRINCIPAL:
            kind = "Role" if get_principal is IAMBackend.get_role else "User"
            raise LimitExceededException(f"Cannot exceed quota for PoliciesPer{kind}: {POLICIES_PER_PRINCIPAL}.")
        return attach(self, policy_arn, name)

    return attach_within_quota


IAMBackend.attach_role_policy = within_quota(IAMBackend.attach_role_policy, IAMBackend.get_role)
IAMBackend.attach_user_policy = within_quota(IAMBackend.attach_user_policy, IAMBackend.get_user)

# Function name -> bridge URL. Keyed by name: a task names a function by name or ARN.
_bridged = {}
_invoke_lambda_function = lambda_eval_utils._invoke_lambda_function


def function_name(name_or_arn):
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` or a bare name -> the name."""
    parts = name_or_arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else name_or_arn


def invoke_lambda_function(parameters, region, state_credentials):
    name = function_name(parameters["FunctionName"])
    url = _bridged.get(name)
    if url is None:
        return _invoke_lambda_function(parameters, region, state_credentials)
    payload = json.loads(parameters.get("Payload") or b"{}")
    body = json.dumps({"functionName": name, "payload": payload}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=900) as response:  # Lambda's longest timeout
        answer = json.loads(response.read())
    if "error" in answer:
        return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": answer["error"], "ExecutedVersion": "$LATEST"}
    return {"StatusCode": 200, "Payload": answer.get("result"), "ExecutedVersion": "$LATEST"}


lambda_eval_utils._invoke_lambda_function = invoke_lambda_function

_put_results = ResourceEvalS3._handle_put_object


def put_results(env, resource_runtime_part, state_credentials):
    outputs = env.stack[-2]  # under the parameters: the children's outputs, which moto drops
    _put_results(env, resource_runtime_part, state_credentials)
    details = env.stack[-1]
    run_arn = details["MapRunArn"]
    manifest_key = details["ResultWriterDetails"]["Key"]
    results_key = manifest_key.rsplit("/", 1)[0] + "/SUCCEEDED_0.json"
    entries = [
        {"ExecutionArn": f"{run_arn}:{index}", "Status": "SUCCEEDED", "Output": json.dumps(output)}
        for index, output in enumerate(outputs)
    ]
    body = json.dumps(entries).encode()
    bucket = details["ResultWriterDetails"]["Bucket"]
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
    s3.put_object(Bucket=bucket, Key=results_key, Body=body)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    manifest["ResultFiles"]["SUCCEEDED"] = [{"Key": results_key, "Size": len(body)}]
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest, indent=2).encode())


ResourceEvalS3._handle_put_object = staticmethod(put_results)

_parse = AmazonStateLanguageParser.parse
_INTEGER_TOLERANCE = re.compile(r'("ToleratedFailurePercentage"\s*:\s*)(\d+)(?=\s*[,}])')


def parse_definition(definition):
    return _parse(_INTEGER_TOLERANCE.sub(r"\1\2.0", definition))


AmazonStateLanguageParser.parse = staticmethod(parse_definition)


INVOKE_PATH = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")


def invoke_bridged(name, request):
    """Lambda's Invoke API of a bridged function: its answer, or its error as Lambda reports one."""
    answer = invoke_lambda_function({"FunctionName": name, "Payload": request.get_data() or b"{}"}, None, None)
    headers = {"X-Amz-Executed-Version": "$LATEST"}
    if "FunctionError" in answer:
        headers["X-Amz-Function-Error"] = answer["FunctionError"]
    return Response(json.dumps(answer["Payload"]), 200, headers=headers, mimetype="application/json")


def register_bridge(request):
    body = json.loads(request.get_data() or b"{}")
    url, functions = body.get("url"), body.get("functions")
    if not isinstance(url, str) or not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
        return Response('{"error": "body must be {\\"url\\": string, \\"functions\\": [string]}"}', 400)
    for name in functions:
        _bridged[function_name(name)] = url
    return Response(json.dumps({"functions": sorted(_bridged)}), 200, mimetype="application/json")


# 15. CloudTrail's event history of the creations reauth reads a creator from.
IAM_CREATIONS = ("CreateUser", "CreateAccessKey", "CreateRole", "CreateLoginProfile")
SECRET_CREATIONS = ("CreateSecret",)
# The SDKs name the target with or without the namespace.
LOOKUP_EVENTS_TARGETS = (
    "CloudTrail_20131101.LookupEvents",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
)
HISTORY_SECONDS = 90 * 86400
# What CloudTrail leaves out of a record: a password, a secret's value, a key's secret.
SECRET_FIELDS = {"Password", "SecretString", "SecretBinary", "SecretAccessKey"}
_trail = {}  # (account, region) -> records, oldest first
_trail_lock = threading.Lock()
_SIGNATURE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

_assume_role_response = TokenResponse.assume_role


def assume_role_response(self):
    # moto drops AssumeRole's SourceIdentity; CloudTrail shows it on every call of the session.
    result = _assume_role_response(self)
    source = self._get_param("SourceIdentity")
    if source:
        result._result["Credentials"].reauth_source_identity = source
        result._result["SourceIdentity"] = source
    return result


TokenResponse.assume_role = assume_role_response


def camel(name):
    return name[:1].lower() + name[1:]


def caller_of(access_key):
    """The `userIdentity` of a call signed with `access_key`, and the account it acts in."""
    for backends in list(sts_backends.values()):
        for backend in list(backends.values()):
            session = backend.get_assumed_role_from_access_key(access_key)
            if session is None:
                continue
            role_name = session.role_arn.split("/")[-1]
            context = {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": session.user_id.split(":")[0],
                    "arn": session.role_arn,
                    "accountId": session.account_id,
                    "userName": role_name,
                },
                "attributes": {"creationDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mfaAuthenticated": "false"},
            }
            source = getattr(session, "reauth_source_identity", None)
            if source:
                context["sourceIdentity"] = source
            identity = {
                "type": "AssumedRole",
                "principalId": session.user_id,
                "arn": session.arn,
                "accountId": session.account_id,
                "accessKeyId": access_key,
                "sessionContext": context,
            }
            return identity, session.account_id
    account = iam_models.get_account_id_from(access_key)
    user = None
    for backend in list(iam_models.iam_backends[account].values()):
        user = backend.get_user_from_access_key_id(access_key) or user
    if user is not None:
        return {
            "type": "IAMUser",
            "principalId": user.id,
            "arn": user.arn,
            "accountId": account,
            "accessKeyId": access_key,
            "userName": user.name,
        }, account
    # A key moto does not know (the emulator's dummy credentials): the account itself, as its root.
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account, "accessKeyId": access_key}, account


def iam_request_parameters(form):
    """A query-protocol request's parameters as CloudTrail writes them: camelCase, lists and secrets left out."""
    return {camel(k): v[0] for k, v in form.items() if k not in ("Action", "Version") and "." not in k and k not in SECRET_FIELDS}


def iam_response_elements(body):
    """The entity an IAM Create* response returns (`<User>`, `<AccessKey>`, …), camelCase, secrets left out."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    strip = lambda tag: tag.split("}")[-1]
    result = next((child for child in root if strip(child.tag).endswith("Result")), None)
    if result is None or len(result) == 0:
        return None
    entity = result[0]
    fields = {camel(strip(f.tag)): f.text for f in entity if len(f) == 0 and strip(f.tag) not in SECRET_FIELDS}
    return {camel(strip(entity.tag)): fields}


def error_of(status, body, json_body):
    if status < 400:
        return None
    if json_body:
        try:
            error = json.loads(body)
            return (error.get("__type", "").split("#")[-1] or "Error", error.get("message") or error.get("Message"))
        except ValueError:
            return ("Error", None)
    code = re.search(rb"<Code>([^<]+)</Code>", body)
    message = re.search(rb"<Message>([^<]*)</Message>", body)
    return (code.group(1).decode() if code else "Error", message.group(1).decode() if message else None)


def resources_of(name, parameters, response):
    if name in ("CreateUser", "CreateLoginProfile"):
        return [{"ResourceType": "AWS::IAM::User", "ResourceName": parameters.get("userName")}]
    if name == "CreateRole":
        return [{"ResourceType": "AWS::IAM::Role", "ResourceName": parameters.get("roleName")}]
    if name == "CreateAccessKey":
        key = (response or {}).get("accessKey", {})
        return [{"ResourceType": "AWS::IAM::AccessKey", "ResourceName": key.get("accessKeyId")}]
    if name == "CreateSecret":
        return [{"ResourceType": "AWS::SecretsManager::Secret", "ResourceName": parameters.get("name")}]
    return []


def record_call(request, body, status, response_body):
    """Keeps a creation in its account's history, as CloudTrail would."""
    signed = _SIGNATURE.search(request.headers.get("Authorization", ""))
    if not signed:
        return
    access_key, region, service = signed.groups()
    if service == "iam":
        form = parse_qs(body.decode(), keep_blank_values=True)
        name = (form.get("Action") or [""])[0]
        if name not in IAM_CREATIONS:
            return
        parameters = iam_request_parameters(form)
        response = iam_response_elements(response_body) if status < 400 else None
        source, region, json_body = "iam.amazonaws.com", "us-east-1", False
    elif service == "secretsmanager":
        name = request.headers.get("X-Amz-Target", "").split(".")[-1]
        if name not in SECRET_CREATIONS:
            return
        try:
            parameters = {camel(k): v for k, v in json.loads(body or b"{}").items() if k not in SECRET_FIELDS}
        except ValueError:
            return
        response, source, json_body = None, "secretsmanager.amazonaws.com", True
    else:
        return
    identity, account = caller_of(access_key)
    error = error_of(status, response_body, json_body)
    record = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": request.remote_addr or "127.0.0.1",
        "userAgent": request.headers.get("User-Agent", ""),
        "requestParameters": parameters or None,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"], record["errorMessage"] = error
        if record["errorMessage"] is None:
            del record["errorMessage"]
    entry = {
        "EventId": record["eventID"],
        "EventName": name,
        "ReadOnly": "false",
        "AccessKeyId": access_key,
        "EventTime": time.time(),
        "EventSource": source,
        "Username": identity.get("userName") or identity["arn"].split("/")[-1],
        "Resources": [r for r in resources_of(name, parameters, response) if r["ResourceName"]],
        "CloudTrailEvent": json.dumps(record),
    }
    with _trail_lock:
        _trail.setdefault((account, region), []).append(entry)


LOOKUP_ATTRIBUTES = {
    "EventId": lambda e: [e["EventId"]],
    "EventName": lambda e: [e["EventName"]],
    "ReadOnly": lambda e: [e["ReadOnly"]],
    "Username": lambda e: [e["Username"]],
    "EventSource": lambda e: [e["EventSource"]],
    "AccessKeyId": lambda e: [e["AccessKeyId"]],
    "ResourceType": lambda e: [r["ResourceType"] for r in e["Resources"]],
    "ResourceName": lambda e: [r["ResourceName"] for r in e["Resources"]],
}


def cloudtrail_error(code, message):
    body = json.dumps({"__type": code, "message": message})
    return Response(body, 400, mimetype="application/x-amz-json-1.1")


def lookup_events(request):
    signed = _SIGNATURE.search(request.headers.get("Authorization", ""))
    access_key, region = (signed.group(1), signed.group(2)) if signed else ("", "us-east-1")
    _, account = caller_of(access_key)
    query = json.loads(request.get_data() or b"{}")
    attributes = query.get("LookupAttributes") or []
    if len(attributes) > 1:
        return cloudtrail_error("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    now = time.time()
    start = max(float(query.get("StartTime", 0)), now - HISTORY_SECONDS)
    end = float(query.get("EndTime", now))
    if start > end:
        return cloudtrail_error("InvalidTimeRangeException", "Start time must be before end time.")
    limit = int(query.get("MaxResults") or 50)
    if not 1 <= limit <= 50:
        return cloudtrail_error("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    with _trail_lock:
        events = list(_trail.get((account, region), []))
    matching = [
        e
        for e in reversed(events)  # newest first, as CloudTrail answers
        if start <= e["EventTime"] <= end
        and all(a.get("AttributeValue") in LOOKUP_ATTRIBUTES.get(a.get("AttributeKey"), lambda e: [])(e) for a in attributes)
    ]
    token = query.get("NextToken")
    try:
        offset = int(base64.b64decode(token).decode()) if token else 0
    except ValueError:
        return cloudtrail_error("InvalidNextTokenException", "Invalid NextToken.")
    page = matching[offset : offset + limit]
    answer = {"Events": page}
    if offset + limit < len(matching):
        answer["NextToken"] = base64.b64encode(str(offset + limit).encode()).decode()
    return Response(json.dumps(answer), 200, mimetype="application/x-amz-json-1.1")


def recording(moto_app, request, environ, start_response):
    """Runs moto on a request whose body is read here already, and records it if it is a creation."""
    body = request.get_data()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    answered = {}

    def capture(status, headers, exc_info=None):
        answered["status"] = int(status.split()[0])
        return start_response(status, headers, exc_info)

    chunks = list(moto_app(environ, capture))
    try:
        record_call(request, body, answered.get("status", 500), b"".join(chunks))
    except Exception:  # a record the emulator cannot make must not fail the call
        logging.getLogger("reauth.emulator").exception("could not record a CloudTrail event")
    return chunks


def is_creation_request(request):
    signed = _SIGNATURE.search(request.headers.get("Authorization", ""))
    service = signed.group(3) if signed else None
    if service == "secretsmanager":
        return request.headers.get("X-Amz-Target", "").split(".")[-1] in SECRET_CREATIONS
    return service == "iam" and request.method == "POST"


def with_clock(moto_app):
    def app(environ, start_response):
        request = Request(environ)
        if request.path == CLOCK_PATH:
            if request.method == "POST":
                at = json.loads(request.get_data() or b"{}").get("at")
                if not isinstance(at, str):
                    return Response('{"error": "body must be {\\"at\\": ISO-8601}"}', 400)(environ, start_response)
                set_clock(at)
            elif request.method == "DELETE":
                set_clock(None)
            else:
                return Response(status=405)(environ, start_response)
            return Response(json.dumps({"now": time.time()}), 200, mimetype="application/json")(environ, start_response)
        if request.path == CONSOLE_SIGN_IN_PATH:
            if request.method != "POST":
                return Response(status=405)(environ, start_response)
            return console_sign_in(request)(environ, start_response)
        if request.path == SERVICE_USAGE_PATH:
            if request.method != "POST":
                return Response(status=405)(environ, start_response)
            return seed_service_usage(request)(environ, start_response)
        if request.path == BRIDGE_PATH:
            if request.method != "POST":
                return Response(status=405)(environ, start_response)
            return register_bridge(request)(environ, start_response)
        invoked = INVOKE_PATH.fullmatch(request.path)
        if invoked and request.method == "POST" and function_name(unquote(invoked.group(1))) in _bridged:
            return invoke_bridged(unquote(invoked.group(1)), request)(environ, start_response)
        if request.headers.get("X-Amz-Target") in LOOKUP_EVENTS_TARGETS:
            return lookup_events(request)(environ, start_response)
        if request.path == RESET_PATH and request.method == "POST":
            set_clock(None)  # a reset returns the emulator to a fresh start, clock, bridge and trail included
            _bridged.clear()
            with _trail_lock:
                _trail.clear()
            with _service_use_lock:
                _service_use.clear()
                _failing_principals.clear()
        _current_action.name = action_of(request) if "Credential=" in request.headers.get("Authorization", "") else None
        if is_creation_request(request):
            return recording(moto_app, request, environ, start_response)
        return moto_app(environ, start_response)

    return app


# 18. KMS's MessageType DIGEST. The response knows the MessageType, the key signs: the flag carries it
# across, per request thread.
_kms_digest = threading.local()
_HASH_OF = {"ECDSA_SHA_256": hashes.SHA256, "ECDSA_SHA_384": hashes.SHA384, "ECDSA_SHA_512": hashes.SHA512}


def digest_aware(method):
    def run(self):
        _kms_digest.active = self._get_param("MessageType") == "DIGEST"
        try:
            return method(self)
        finally:
            _kms_digest.active = False

    return run


_ecdsa_sign = ECDSAPrivateKey.sign
_ecdsa_verify = ECDSAPrivateKey.verify


def ecdsa_sign(self, message, signing_algorithm):
    if not getattr(_kms_digest, "active", False):
        return _ecdsa_sign(self, message, signing_algorithm)
    validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    return self.private_key.sign(message, ec.ECDSA(Prehashed(_HASH_OF[signing_algorithm]())))


def ecdsa_verify(self, message, signature, signing_algorithm):
    if not getattr(_kms_digest, "active", False):
        return _ecdsa_verify(self, message, signature, signing_algorithm)
    validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    try:
        self.private_key.public_key().verify(signature, message, ec.ECDSA(Prehashed(_HASH_OF[signing_algorithm]())))
        return True
    except InvalidSignature:
        return False


ECDSAPrivateKey.sign = ecdsa_sign
ECDSAPrivateKey.verify = ecdsa_verify
KmsResponse.sign = digest_aware(KmsResponse.sign)
KmsResponse.verify = digest_aware(KmsResponse.verify)


# 19. Service last-accessed data. principal ARN -> service -> {"at": datetime, "actions": {name: datetime}}.
_service_use = {}
_service_use_lock = threading.Lock()
_failing_principals = set()
_current_action = threading.local()
SERVICE_USAGE_PATH = "/_reauth/service-usage"
# IAM's action-level data covers these services' actions (AWS's first list: S3, EC2, IAM, Lambda).
TRACKED_ACTION_SERVICES = ("s3", "ec2", "iam", "lambda")
_every_service = []


def every_service():
    """The service namespaces AWS's managed policies name: what a `*` grant lists, as IAM lists them all."""
    if not _every_service:
        names = set()
        for data in json.loads(aws_managed_policies_data).values():
            for statement in statements_of(data.get("Document")):
                for action in listed(statement.get("Action")):
                    if ":" in action and "*" not in action.split(":")[0]:
                        names.add(action.split(":")[0].lower())
        _every_service.extend(sorted(names))
    return _every_service


def listed(value):
    return [value] if isinstance(value, str) else list(value or [])


def statements_of(document):
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document) if document.startswith("%") else document)
        except ValueError:
            return []
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else statements


def services_granted(documents):
    """The namespaces Allow statements reach: `*`, `s3:*`, `s3:Get*`, `s*:List*`, or all but a NotAction."""
    every = every_service()
    granted = set()
    for document in documents:
        for statement in statements_of(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                excluded = {a.split(":")[0].lower() for a in listed(statement["NotAction"]) if a.endswith(":*")}
                granted.update(name for name in every if name not in excluded)
                continue
            for action in listed(statement.get("Action")):
                if action == "*":
                    granted.update(every)
                elif ":" in action:
                    prefix = action.split(":")[0].lower()
                    if "*" in prefix or "?" in prefix:
                        pattern = re.compile(re.escape(prefix).replace(r"\*", ".*").replace(r"\?", ".") + "$")
                        granted.update(name for name in every if pattern.match(name))
                    else:
                        granted.add(prefix)
    return sorted(granted)


def default_document(policy):
    return next((v.document for v in policy.versions if v.is_default), "")


def principal_of(arn):
    """(entity, its policy documents) of a user or role ARN; raises when there is none."""
    account = arn.split(":")[4]
    backend = iam_models.iam_backends[account][iam_models.get_partition("us-east-1")]
    if ":role/" in arn:
        role = backend.get_role_by_arn(arn)
        return role, [default_document(p) for p in role.managed_policies.values()] + list(role.policies.values())
    user = backend.get_user(arn.split("/")[-1])
    documents = [default_document(p) for p in user.managed_policies.values()] + list(user.policies.values())
    for group in backend.get_groups_for_user(user.name):
        documents += [default_document(p) for p in group.managed_policies.values()] + list(group.policies.values())
    return user, documents


def record_service_use(arn, service, region, action=None):
    now = utcnow()
    with _service_use_lock:
        used = _service_use.setdefault(arn, {}).setdefault(service, {"actions": {}})
        used["at"], used["region"] = now, region
        if action:
            used["actions"][action] = now


def action_of(request):
    """The API action a request calls, where its protocol names it (a JSON target, a query Action), or S3's by method."""
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    if request.args.get("Action"):
        return request.args["Action"]
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        body = request.get_data()  # cached by werkzeug: moto reads it again through wsgi.input, put back
        request.environ["wsgi.input"] = io.BytesIO(body)
        request.environ["CONTENT_LENGTH"] = str(len(body))
        return (parse_qs(body.decode(errors="replace")).get("Action") or [None])[0]
    object_key = len([part for part in request.path.split("/") if part]) > 1
    return {
        ("GET", True): "GetObject",
        ("PUT", True): "PutObject",
        ("DELETE", True): "DeleteObject",
        ("HEAD", True): "GetObject",
        ("GET", False): "ListBucket",
        ("PUT", False): "CreateBucket",
    }.get((request.method, object_key))


def seed_service_usage(request):
    body = json.loads(request.get_data() or b"{}")
    arn = body.get("arn")
    if not isinstance(arn, str) or ":iam::" not in arn:
        return Response('{"error": "body must be {\\"arn\\": user or role ARN, \\"service\\" or \\"failJobs\\"}"}', 400)
    if body.get("failJobs") is not None:
        (_failing_principals.add if body["failJobs"] else _failing_principals.discard)(arn)
    service = body.get("service")
    if isinstance(service, str):
        actions = body.get("actions") or [None]
        for action in actions:
            record_service_use(arn, service, "us-east-1", action)
    return Response(json.dumps({"arn": arn}), 200, mimetype="application/json")


def generate_service_last_accessed_details(self):
    arn = self._get_param("Arn")
    granularity = self._get_param("Granularity") or "SERVICE_LEVEL"
    try:
        principal, documents = principal_of(arn)
    except Exception:
        raise iam_models.NotFoundException(f"The entity {arn} was not found.")  # IAM's NoSuchEntity
    now = utcnow()
    job = {"arn": arn, "granularity": granularity, "created": now, "reads": 0}
    if arn in _failing_principals:
        job["failed"] = True
    else:
        with _service_use_lock:
            used = copy.deepcopy(_service_use.get(arn, {}))
        job["services"] = [service_entry(name, used.get(name), arn, granularity) for name in services_granted(documents)]
    job_id = str(uuid.uuid4())
    self.backend.__dict__.setdefault("reauth_access_jobs", {})[job_id] = job
    return ActionResult({"JobId": job_id})


def service_entry(name, used, arn, granularity):
    entry = {"ServiceName": name, "ServiceNamespace": name, "TotalAuthenticatedEntities": 1 if used else 0}
    if used:
        entry.update(LastAuthenticated=used["at"], LastAuthenticatedEntity=arn, LastAuthenticatedRegion=used["region"])
    if granularity == "ACTION_LEVEL" and name in TRACKED_ACTION_SERVICES:
        entry["TrackedActionsLastAccessed"] = [
            {"ActionName": action, "LastAccessedEntity": arn, "LastAccessedTime": at, "LastAccessedRegion": used["region"]}
            for action, at in sorted((used or {}).get("actions", {}).items())
        ]
    return entry


def get_service_last_accessed_details(self):
    job_id = self._get_param("JobId")
    job = self.backend.__dict__.get("reauth_access_jobs", {}).get(job_id)
    if job is None:
        raise iam_models.NotFoundException(f"No job found with id {job_id}")
    job["reads"] += 1
    answer = {"JobType": job["granularity"], "JobCreationDate": job["created"], "IsTruncated": False}
    if job["reads"] == 1:  # the first read finds it running, as IAM's jobs take a moment
        return ActionResult({**answer, "JobStatus": "IN_PROGRESS", "ServicesLastAccessed": []})
    answer["JobCompletionDate"] = job["created"]
    if job.get("failed"):
        return ActionResult({
            **answer,
            "JobStatus": "FAILED",
            "ServicesLastAccessed": [],
            "Error": {"Message": "The job could not be completed", "Code": "ServiceFailure"},
        })
    max_items = int(self._get_param("MaxItems") or 100)
    start = int(self._get_param("Marker") or 0)
    services = job["services"]
    answer.update(JobStatus="COMPLETED", ServicesLastAccessed=services[start : start + max_items])
    if start + max_items < len(services):
        answer.update(IsTruncated=True, Marker=str(start + max_items))
    return ActionResult(answer)


IamResponse.generate_service_last_accessed_details = generate_service_last_accessed_details
IamResponse.get_service_last_accessed_details = get_service_last_accessed_details


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = make_server("127.0.0.1", port, with_clock(DomainDispatcherApplication(create_backend_app)), threaded=True)
    os.environ["MOTO_PORT"] = str(server.server_port)  # where moto's Step Functions sends its calls
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {server.server_port}", flush=True)
    sys.stdin.read()  # returns when the parent closes our stdin or dies


if __name__ == "__main__":
    main()
