/** The emulator's account and region: the ARNs a synthesized definition is resolved to. */
export const EMULATOR_ACCOUNT = '123456789012';
export const EMULATOR_REGION = 'us-east-1';

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** A synthesized state machine's definition, made concrete for the emulator. */
export interface EmulatedDefinition {
  /** The ASL JSON, every `Ref`, `Fn::GetAtt` and `Fn::Join` resolved. */
  definition: string;
  /** The ARN of each Lambda function the definition names, by logical id: bridge these. */
  functions: Record<string, string>;
}

/**
 * The ASL of the state machine `logicalId` in a synthesized CloudFormation template (e.g.
 * `Template.fromStack(stack).toJSON()`), with its references resolved as the emulator names them:
 * a Lambda function is `arn:aws:lambda:us-east-1:123456789012:function:<LogicalId>`, and any other
 * resource's name (bucket, table, queue…) is `names[logicalId]`, or its logical id in lower case.
 * The definition is the template's own: never a copy.
 */
export function emulatedDefinition(
  template: Template,
  logicalId: string,
  names: Record<string, string> = {},
): EmulatedDefinition {
  const resources = template.Resources ?? {};
  const machine = resources[logicalId];
  if (machine?.Type !== 'AWS::StepFunctions::StateMachine')
    throw new Error(`${logicalId} is not a state machine of this template`);
  const functions: Record<string, string> = {};
  const nameOf = (id: string): string => {
    const resource = resources[id];
    if (!resource) throw new Error(`the definition refers to ${id}, which is not in the template`);
    if (resource.Type === 'AWS::Lambda::Function') {
      functions[id] = `arn:aws:lambda:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:function:${names[id] ?? id}`;
      return names[id] ?? id;
    }
    return names[id] ?? id.toLowerCase();
  };
  const arnOf = (id: string): string => {
    const type = resources[id]?.Type;
    const name = nameOf(id);
    if (type === 'AWS::Lambda::Function') return functions[id] as string;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${name}`;
    if (type === 'AWS::DynamoDB::Table')
      return `arn:aws:dynamodb:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:table/${name}`;
    if (type === 'AWS::SQS::Queue') return `arn:aws:sqs:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:${name}`;
    throw new Error(`no emulator ARN for ${id} (${type})`);
  };
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': EMULATOR_REGION,
    'AWS::AccountId': EMULATOR_ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const node = value as Record<string, unknown>;
    if (typeof node.Ref === 'string') return pseudo[node.Ref] ?? nameOf(node.Ref);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [id, attribute] = node['Fn::GetAtt'] as [string, string];
      if (attribute !== 'Arn')
        throw new Error(`Fn::GetAtt ${id}.${attribute} is not resolved for the emulator`);
      return arnOf(id);
    }
    if (Array.isArray(node['Fn::Join'])) {
      const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)} for the emulator`);
  };
  const definition = resolve(machine.Properties?.DefinitionString);
  JSON.parse(definition); // resolved to valid JSON, or this is the place to say so
  return { definition, functions };
}

/** How an execution ended (DescribeExecution). */
export interface Execution {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * Creates a state machine with `definition` on the emulator at `endpoint`, runs it once with `input`
 * and waits for it to end (DescribeExecution every 100 ms, at most `timeoutMs`). Through Step
 * Functions' JSON API, which needs no SDK client here (moto does not check signatures).
 */
export async function runStateMachine(
  endpoint: string,
  options: { definition: string; input: unknown; name?: string; timeoutMs?: number },
): Promise<Execution> {
  const call = async (action: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `AWSStepFunctions.${action}`,
        authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${EMULATOR_REGION}/states/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Step Functions ${action}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const { stateMachineArn } = await call('CreateStateMachine', {
    name: options.name ?? `machine-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    definition: options.definition,
    roleArn: `arn:aws:iam::${EMULATOR_ACCOUNT}:role/state-machine`,
  });
  const { executionArn } = await call('StartExecution', {
    stateMachineArn,
    input: JSON.stringify(options.input),
  });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const described = await call('DescribeExecution', { executionArn });
    if (described.status !== 'RUNNING') {
      const { status, output, error, cause } = described as Record<string, string | undefined>;
      return {
        executionArn: executionArn as string,
        status: status as Execution['status'],
        ...(output !== undefined && { output: JSON.parse(output) }),
        ...(error !== undefined && { error }),
        ...(cause !== undefined && { cause }),
      };
    }
    if (Date.now() > deadline)
      throw new Error(`${executionArn} still RUNNING after ${options.timeoutMs ?? 60_000} ms`);
    await new Promise((wait) => setTimeout(wait, 100));
  }
}
