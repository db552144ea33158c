"""
Writes data/known-aws-accounts/accounts.json from fwdcloudsec/known_aws_accounts' accounts.yaml, in two
maps that never share an account:

- `vendors`: account id -> vendor name, the third parties reauth names beside a role's trusted accounts
  when the policy's `vendors` does not;
- `awsServices`: account id -> the AWS service it belongs to, for AWS's own accounts (`type: aws`: log
  delivery, ELB, Redshift, CloudTrail and the like). These are never a vendor: one in a customer role's
  trust is reauth's `aws-service-account-trusted` finding, a likely backdoor.

Entries marked `enabled: false` (deprecated) are left out. An account named by two entries, or by a vendor
and an AWS service at once, stops the script.

    git clone https://github.com/fwdcloudsec/known_aws_accounts /tmp/known
    .venv/bin/python scripts/write-known-aws-accounts.py /tmp/known/accounts.yaml \
        "$(git -C /tmp/known rev-parse HEAD)" "$(git -C /tmp/known log -1 --format=%cs)"

then copy its LICENSE beside the output if it changed, and `npx biome format --write data/`.
"""

import json
import re
import sys
from pathlib import Path

import yaml

SOURCE = "https://github.com/fwdcloudsec/known_aws_accounts"
OUT = Path(__file__).resolve().parent.parent / "data" / "known-aws-accounts" / "accounts.json"


def main(yaml_path: str, commit: str, date: str) -> None:
    entries = yaml.safe_load(Path(yaml_path).read_text())
    maps: dict[str, dict[str, str]] = {"vendors": {}, "awsServices": {}}
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.get("enabled", True) is False:
            continue
        name = entry["name"].strip()
        kind = "awsServices" if entry.get("type") == "aws" else "vendors"
        for account in entry["accounts"]:
            account = str(account)
            if not re.fullmatch(r"\d{12}", account):
                raise SystemExit(f"not an account id: {account!r} ({name})")
            if seen.get(account, name) != name:
                raise SystemExit(f"{account} is named twice: {seen[account]!r} and {name!r}")
            seen[account] = name
            maps[kind][account] = name
    document = {
        "source": SOURCE,
        "commit": commit,
        "date": date,
        "license": "Apache-2.0, see LICENSE beside this file",
        "changes": "accounts.yaml as account id -> name, in vendors and awsServices (type: aws); enabled: false entries left out",
        "vendors": dict(sorted(maps["vendors"].items())),
        "awsServices": dict(sorted(maps["awsServices"].items())),
    }
    OUT.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {OUT}: {len(maps['vendors'])} vendor and {len(maps['awsServices'])} AWS service accounts")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
