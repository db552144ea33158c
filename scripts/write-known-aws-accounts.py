"""
Writes data/known-aws-accounts/accounts.json from fwdcloudsec/known_aws_accounts' accounts.yaml:
account id -> name, the vendor accounts reauth names beside a role's trusted accounts when the policy's
`vendors` does not. Entries marked `enabled: false` (deprecated) are left out; AWS's own accounts
(`type: aws`) are named `AWS <name>`.

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
    accounts: dict[str, str] = {}
    for entry in entries:
        if entry.get("enabled", True) is False:
            continue
        name = entry["name"].strip()
        if entry.get("type") == "aws" and not name.startswith("AWS"):
            name = f"AWS {name}"
        for account in entry["accounts"]:
            account = str(account)
            if not re.fullmatch(r"\d{12}", account):
                raise SystemExit(f"not an account id: {account!r} ({name})")
            if accounts.get(account, name) != name:
                raise SystemExit(f"{account} is named twice: {accounts[account]!r} and {name!r}")
            accounts[account] = name
    document = {
        "source": SOURCE,
        "commit": commit,
        "date": date,
        "license": "Apache-2.0, see LICENSE beside this file",
        "changes": "accounts.yaml as account id -> name; enabled: false entries left out; type: aws names prefixed AWS",
        "accounts": dict(sorted(accounts.items())),
    }
    OUT.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {OUT}: {len(accounts)} accounts")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
