import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LambdaBridge, startLambdaBridge } from '../../scripts/emulator/lambda-bridge';
import { type Execution, emulatedDefinition, runStateMachine } from '../../scripts/emulator/state-machines';
import { synthFanOut } from '../fixtures/step-functions/stack';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const fixtures = new URL('../fixtures/step-functions/', import.meta.url).pathname;
const BUCKET = 'fan-out-results';

function logicalId(template: ReturnType<typeof synthFanOut>, type: string, prefix = ''): string {
  const resources = template.Resources as Record<string, { Type: string }>;
  const id = Object.keys(resources).find((key) => resources[key]?.Type === type && key.startsWith(prefix));
  if (!id) throw new Error(`no ${type} ${prefix} in the template`);
  return id;
}

describe('a synthesized Distributed Map on the emulator, its Lambda tasks run by the bridge', () => {
  let bridge: LambdaBridge;
  let execution: Execution;

  beforeAll(async () => {
    // Prepare: the definition CDK synthesized, resolved to the emulator's names; the handlers bridged.
    const template = synthFanOut();
    const { definition, functions } = emulatedDefinition(
      template,
      logicalId(template, 'AWS::StepFunctions::StateMachine'),
      { [logicalId(template, 'AWS::S3::Bucket')]: BUCKET },
    );
    await emulator.reset();
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    bridge = await startLambdaBridge({
      [functions[logicalId(template, 'AWS::Lambda::Function', 'Item')] as string]: {
        module: `${fixtures}item-handler.ts`,
        env: { ITEM_LABEL: 'from-its-environment' },
      },
      [functions[logicalId(template, 'AWS::Lambda::Function', 'Summary')] as string]: {
        module: `${fixtures}summary-handler.ts`,
      },
    });
    await emulator.bridgeLambda(bridge);

    // Act
    execution = await runStateMachine(emulator.endpoint, {
      definition,
      input: {
        runId: 'run-1',
        items: [{ id: 'steady' }, { id: 'flaky' }, { id: 'broken' }, { id: 'orphan' }],
      },
    });
  });

  afterAll(() => bridge?.close());

  it('runs every item through the child handler and hands their results to the summary', () => {
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: { runId: 'run-1' } });
    const children = (execution.output as { children: { id: string }[] }).children;
    expect(children.map((child) => child.id).sort()).toEqual(['broken', 'flaky', 'orphan', 'steady']);
    expect(children).toContainEqual(
      expect.objectContaining({ id: 'steady', runId: 'run-1', label: 'from-its-environment', attempt: 1 }),
    );
  });

  it('retries an error named in Retry, and succeeds when the retry does', () => {
    const children = (execution.output as { children: { id: string }[] }).children;
    expect(children).toContainEqual(expect.objectContaining({ id: 'flaky', attempt: 2 }));
  });

  it('catches what still fails, with the error name and cause the summary sees', () => {
    const children = (
      execution.output as { children: { id: string; failed?: { Error: string; Cause: string } }[] }
    ).children;
    const broken = children.find((child) => child.id === 'broken');
    expect(broken?.failed?.Error).toBe('Flaky');
    expect(JSON.parse(broken?.failed?.Cause ?? '{}')).toMatchObject({
      errorType: 'Flaky',
      errorMessage: 'item broken failed on attempt 3', // the first try and both retries
    });
    const orphan = children.find((child) => child.id === 'orphan');
    expect(orphan?.failed?.Error).toBe('MemberRoleMissing');
    expect(JSON.parse(orphan?.failed?.Cause ?? '{}')).toMatchObject({
      errorMessage: 'no reader role in orphan',
    });
  });

  it('runs at most MaxConcurrency children at once', () => {
    const children = (execution.output as { children: { mostRunning?: number }[] }).children;
    const most = Math.max(...children.map((child) => child.mostRunning ?? 0));
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('writes the results to S3 with a manifest, where ResultWriter points', async () => {
    const key = (execution.output as { manifest: string }).manifest;
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const manifest = JSON.parse((await object.Body?.transformToString()) ?? '{}');
    expect(key).toMatch(/^runs\/[^/]+\/manifest\.json$/);
    expect(manifest).toMatchObject({
      DestinationBucket: BUCKET,
      ResultFiles: { FAILED: [], SUCCEEDED: [{}] },
    });
  });
});
