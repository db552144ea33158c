import { runSimulation } from '@cloud-copilot/iam-simulate';

/**
 * What a synthesized role may do, said by a real IAM policy evaluator (@cloud-copilot/iam-simulate)
 * over the template's own statements rather than by reading their JSON: the role's identity policies
 * (its inline `Policies` and every `AWS::IAM::Policy` attached to it), with CloudFormation's
 * intrinsics resolved as one account would (`ACCOUNT`, us-east-1, a role's ARN from its logical id).
 */

export const ACCOUNT = '123456789012';

export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** The ARN a role of this template has once deployed: named after its RoleName, else its logical id. */
export function roleArnOf(template: Template, logicalId: string): string {
  const name = template.Resources[logicalId]?.Properties?.RoleName;
  return `arn:aws:iam::${ACCOUNT}:role/${typeof name === 'string' ? name : logicalId}`;
}

/** The ARN a table of this template has once deployed: named after its logical id. */
export function tableArnOf(logicalId: string): string {
  return `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${logicalId}`;
}

/** The ARN a KMS key of this template has once deployed: its logical id as the key id. */
export function keyArnOf(logicalId: string): string {
  return `arn:aws:kms:us-east-1:${ACCOUNT}:key/${logicalId}`;
}

/** A template value with its intrinsics resolved to strings (an unknown `Ref` becomes its name). */
function resolve(template: Template, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(template, v));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) {
    const ref = String(object.Ref);
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::AccountId': ACCOUNT,
      'AWS::Region': 'us-east-1',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[ref] ?? ref;
  }
  if ('Fn::GetAtt' in object) {
    const [id, attribute] = object['Fn::GetAtt'] as [string, string];
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::IAM::Role' && attribute === 'Arn') return roleArnOf(template, id);
    if ((type === 'AWS::DynamoDB::GlobalTable' || type === 'AWS::DynamoDB::Table') && attribute === 'Arn')
      return tableArnOf(id);
    if (type === 'AWS::KMS::Key' && attribute === 'Arn') return keyArnOf(id);
    return `arn:aws:resource:us-east-1:${ACCOUNT}:${id}/${attribute}`;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return (resolve(template, parts) as unknown[]).join(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolve(template, v)]));
}

/** The role's identity policies, resolved. */
export function identityPolicies(template: Template, roleId: string): { name: string; policy: object }[] {
  const role = template.Resources[roleId];
  const inline = ((role?.Properties?.Policies as { PolicyName: string; PolicyDocument: object }[]) ?? []).map(
    (p) => ({ name: p.PolicyName, policy: resolve(template, p.PolicyDocument) as object }),
  );
  const attached = Object.entries(template.Resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties?.Roles as unknown[] | undefined)?.some(
          (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId }),
        ),
    )
    .map(([id, r]) => ({ name: id, policy: resolve(template, r.Properties?.PolicyDocument) as object }));
  return [...inline, ...attached];
}

/**
 * Whether the role may make the call on the resource (with the request's `context`, such as the
 * resource's tags, and the resource's own policy from the template, such as a key policy): the
 * evaluator's overall result is `Allowed`.
 */
export async function mayDo(
  template: Template,
  roleId: string,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
  resourcePolicy?: object,
): Promise<boolean> {
  const response = await runSimulation(
    {
      identityPolicies: identityPolicies(template, roleId),
      ...(resourcePolicy && { resourcePolicy: resolve(template, resourcePolicy) }),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: roleArnOf(template, roleId),
        resource: { accountId: ACCOUNT, resource },
        contextVariables: context,
      },
    },
    {},
  );
  if (response.resultType === 'error')
    throw new Error(`${action} on ${resource}: ${JSON.stringify(response.errors)}`);
  return response.overallResult === 'Allowed';
}
