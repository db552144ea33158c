#!/usr/bin/env bash
# The package as a user gets it (`npm run check:package`): packs reauth, makes a fresh
# `cdk init app --language typescript` project in a temporary folder, installs the tarball there (and
# nothing else of this repository), and in that app runs its own `npx tsc`, `cdk synth` of a stack with
# two Reauth copies under cdk-nag's AwsSolutions checks, and the packed `reauth` command. The app is
# checked with the aws-cdk-lib `cdk init` asks for (the newest 2.x), then again with the oldest one
# reauth's peer range admits.
#
#   REAUTH_CHECK_KEEP=1   keep the temporary folder and print its path
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/reauth-consumer-XXXXXX")"
if [[ "${REAUTH_CHECK_KEEP:-}" == 1 ]]; then trap 'echo "consumer-check: kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
step() { printf '\n== %s\n' "$*"; }
fail() { echo "consumer-check: FAILED: $*" >&2; exit 1; }

step "npm pack (its prepack builds dist/)"
tarball="$work/$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
[[ -f "$tarball" ]] || fail "npm pack made no tarball"
tar -tzf "$tarball" | sed 's#^package/##' >"$work/files.txt"
# What runs, and nothing else: no sources, tests, scripts, CI or lock file.
if grep -vE '^(dist/|schemas/|bin/reauth\.mjs$|README\.md$|LICENSE$|package\.json$)' "$work/files.txt"; then
  fail "the tarball ships the files above, which nothing runs"
fi
if grep -E '\.ts$' "$work/files.txt" | grep -vE '\.d\.ts$'; then fail "the tarball ships TypeScript sources"; fi
echo "$(basename "$tarball"): $(wc -l <"$work/files.txt") files, $(du -k "$tarball" | cut -f1) KiB packed"

step "cdk init app --language typescript (--generate-only: its npm install follows, with the tarball)"
mkdir "$work/app" && cd "$work/app"
"$repo/node_modules/.bin/cdk" init app --language typescript --generate-only >/dev/null 2>&1
npm install --no-audit --no-fund --loglevel=error "$tarball" "cdk-nag@^3"
node -e 'const d = require("./package.json").dependencies; console.log(Object.entries(d).map(([k, v]) => `${k}@${v}`).join(" "))'
# esbuild may be here for the app's own tsx, never for reauth.
if npm explain esbuild 2>/dev/null | grep -q 'reauth@'; then fail "reauth depends on esbuild"; fi

cat >reauth.config.json <<'JSON'
{
  "$schema": "./node_modules/reauth/schemas/reauth.config.schema.json",
  "mode": "enforce",
  "fallbackOwner": "#platform-security",
  "protectedPrincipals": ["break-glass-*"],
  "organization": {}
}
JSON
stack_file="$(ls lib/*-stack.ts)"
cat >"$stack_file" <<'TS'
import * as cdk from 'aws-cdk-lib/core';
import { Construct } from 'constructs';
import { Reauth } from 'reauth';

export class AppStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    // Staging beside production: one policy given as an object, one as a file, for a whole AWS Organization.
    new Reauth(this, 'Staging', { namePrefix: 'staging', policy: { mode: 'report', fallbackOwner: '#platform-security' } });
    new Reauth(this, 'Production', {
      namePrefix: 'prod',
      policy: 'reauth.config.json',
      organizationId: 'o-abc123defg',
      organizationRootId: 'r-ab12',
    });
  }
}
TS
cat >"bin/$(basename "$PWD").ts" <<TS
#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib/core';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppStack } from '../${stack_file%.ts}';

const app = new cdk.App();
new AppStack(app, 'AppStack');
// Unacknowledged findings fail the synth; acknowledged ones are written into the template.
cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
TS
rm -rf test # cdk init's sample test names the stack class it generated

# The app as it stands (its aws-cdk-lib installed): type-check, import, synthesize, and read the assembly.
check_app() {
  # One aws-cdk-lib in the app: reauth's constructs are then the app's own (the probe below).
  local copies
  copies="$(find node_modules -path '*/aws-cdk-lib/package.json' -not -path '*/aws-cdk-lib/*/aws-cdk-lib/*' | wc -l)"
  echo "aws-cdk-lib copies: $copies ($(node -p 'require("aws-cdk-lib/package.json").version'))"
  [[ "$copies" == 1 ]] || fail "$copies copies of aws-cdk-lib in the app"

  step "npx tsc (the app's own TypeScript: $(npx tsc --version)), then TypeScript $("$repo/node_modules/.bin/tsc" --version | cut -d' ' -f2)"
  npx tsc
  "$repo/node_modules/.bin/tsc" -p .

  step "plain node imports the package: require() from CommonJS, as cdk init's app does, and import"
  node -e 'const { Reauth } = require("reauth"); if (typeof Reauth !== "function") process.exit(1)'
  node --input-type=module -e 'const { Reauth } = await import("reauth"); if (typeof Reauth !== "function") process.exit(1)'
  echo "require('reauth') and import('reauth'): Reauth is a class"
  # What one aws-cdk-lib means to the app: reauth's resources are its CfnResources (with a second copy, none is).
  node -e '
  const cdk = require("aws-cdk-lib");
  const { Reauth } = require("reauth");
  const reauth = new Reauth(new cdk.Stack(new cdk.App(), "Probe"), "Reauth");
  const resources = reauth.node.findAll().filter((c) => c.node.defaultChild === undefined && c.constructor.name.startsWith("Cfn"));
  const foreign = resources.filter((c) => !(c instanceof cdk.CfnResource));
  console.log(`reauth L1 resources that are the app aws-cdk-lib CfnResources: ${resources.length - foreign.length} of ${resources.length}`);
  if (!resources.length || foreign.length) process.exit(1);
  '

  rm -rf cdk.out
  step "npx cdk synth (docker and esbuild stubbed to fail: reauth's synth must call neither)"
  mkdir -p "$work/stubs"
  for tool in docker esbuild; do
  printf '#!/bin/sh\necho "%s was called: $*" >>"%s"\nexit 1\n' "$tool" "$work/stubs/called" >"$work/stubs/$tool"
  chmod +x "$work/stubs/$tool"
  done
  local start=$SECONDS
  PATH="$work/stubs:$PATH" CDK_DOCKER="$work/stubs/docker" npx cdk synth --quiet
  [[ ! -e "$work/stubs/called" ]] || fail "$(cat "$work/stubs/called")"
  echo "synthesized in $((SECONDS - start)) s"

  node "$repo/scripts/package/consumer-assembly.mjs" AppStack
}

cdk_lib_newest="$(node -p 'require("aws-cdk-lib/package.json").version')"
step "aws-cdk-lib $cdk_lib_newest, as cdk init asks for"
check_app

cdk_lib_floor="$(node -p 'require("reauth/package.json").peerDependencies["aws-cdk-lib"].replace(/^[\^~>=]+/, "")')"
step "aws-cdk-lib $cdk_lib_floor, the oldest reauth's peer range admits"
npm install --no-audit --no-fund --loglevel=error --no-save "aws-cdk-lib@$cdk_lib_floor"
check_app

step "the packed CLI"
version="$(npx reauth --version)"
echo "npx reauth --version: $version"
[[ "$version" == "$(node -p 'require("reauth/package.json").version')" ]] || fail "reauth --version says $version"
npx reauth config check >"$work/config-check.txt"
head -n 1 "$work/config-check.txt"
npx reauth config check --config /dev/null 2>/dev/null && fail "config check accepted an empty policy file"

step "consumer-check: OK"
