import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureFlags } from 'aws-cdk-lib';
import { ENABLE_PARTITION_LITERALS } from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT } from '../../lib/reauth-function';

const require = createRequire(import.meta.url);
const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8'));

describe('cdk.json feature flags', () => {
  it('are the flags aws-cdk-lib recommends for its version, as `cdk init` writes them (sorted)', () => {
    const recommended = require('aws-cdk-lib/recommended-feature-flags.json') as Record<string, unknown>;

    expect(cdkJson.context).toEqual(recommended);
    expect(Object.keys(cdkJson.context)).toEqual(Object.keys(recommended).sort());
  });

  it('are what the app synthesizes with, in tests as under `cdk synth`', () => {
    const { stack } = buildApp({ bundling: false, outdir: join(tmpdir(), 'reauth-flags-unused') });

    for (const [flag, value] of Object.entries(cdkJson.context)) {
      expect(stack.node.tryGetContext(flag), flag).toEqual(value);
    }
    expect(FeatureFlags.of(stack).isEnabled(ENABLE_PARTITION_LITERALS)).toBe(true);
  });
});
