import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ownerTagOf } from '../domain/owners';
import { createCloudFormationClient } from './aws-clients';

/** A stack's owner, as its owner tag names it. */
export interface StackOwner {
  /** The stack's name, as the message shows it. */
  name: string;
  owner: string;
}

/**
 * Reads the owner tags of the stacks that created principals: DescribeStacks once per stack and run
 * (cached), in the stack's own region. A stack gone or unreadable names no owner; the failures are
 * counted, not thrown: a member role deployed before reauth read stacks lacks the grant, and that must
 * not fail the account's scan.
 */
export interface StackOwnerReader {
  /** `stack`: the stack id (`arn:aws:cloudformation:<region>:…:stack/<name>/<uuid>`) or its name. */
  ownerOf(stack: string, ownerTagKeys: readonly string[]): Promise<StackOwner | undefined>;
  /** Stacks that could not be read this run (denied, throttled past retries), for the scan's report. */
  failures(): number;
}

/** `clientFor(region)`: a CloudFormation client of the scanned account in that region (absent: the default). */
export function createStackOwnerReader(
  clientFor: (region: string | undefined) => CloudFormationClient,
): StackOwnerReader {
  const clients = new Map<string, CloudFormationClient>();
  const owners = new Map<string, Promise<StackOwner | undefined>>();
  let failed = 0;
  const read = async (stack: string, ownerTagKeys: readonly string[]) => {
    const region = /^arn:aws[\w-]*:cloudformation:([a-z0-9-]+):/.exec(stack)?.[1];
    let client = clients.get(region ?? '');
    if (!client) {
      client = clientFor(region);
      clients.set(region ?? '', client);
    }
    try {
      const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stack }));
      const found = Stacks?.[0];
      if (!found?.StackName) return undefined;
      const tags = Object.fromEntries((found.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const owner = ownerTagOf(tags, ownerTagKeys);
      return owner && { name: found.StackName, owner: owner.owner };
    } catch (error) {
      // "Stack with id … does not exist": deleted since; it names no owner, and is no failure.
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message))
        return undefined;
      failed++;
      return undefined;
    }
  };
  return {
    ownerOf(stack, ownerTagKeys) {
      let owner = owners.get(stack);
      if (!owner) {
        owner = read(stack, ownerTagKeys);
        owners.set(stack, owner);
      }
      return owner;
    },
    failures: () => failed,
  };
}

/** The reader of the current credentials' account (the function's own, or the CLI's), for one run. */
export function stackOwnersOfThisAccount(): StackOwnerReader {
  return createStackOwnerReader((region) => createCloudFormationClient(region));
}
