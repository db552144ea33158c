import {
  GetGroupCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListEntitiesForPolicyCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import type { GrantDocuments, GrantToJudge } from '../domain/trust-event';

/**
 * What the trust-events consumer reads beyond the inventory to judge a change by its content and to
 * reach everyone it touches: a managed policy's documents, a group's members, a policy's principals.
 * Reads only (the reader role's `GRANT_READ_ACTIONS`). Each answer is kept for the life of the reader
 * (one batch of events, in one account): a policy attached to 2,000 principals is read once.
 */
export interface GrantReader {
  /** The documents a change grants, or why they could not be read (then it counts as a widening). */
  documents(grant: GrantToJudge): Promise<GrantDocuments>;
  /** The users in a group (none when it no longer exists). */
  groupMembers(groupName: string): Promise<string[]>;
  /** Who a managed policy is attached to: users, groups and roles (none when it no longer exists). */
  policyEntities(policyArn: string): Promise<PolicyEntities>;
}

export interface PolicyEntities {
  users: string[];
  groups: string[];
  roles: string[];
}

const NO_SUCH_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];

export function createGrantReader(iam: IAMClient): GrantReader {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let answer = cache.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = read();
      cache.set(key, answer);
      // A failure is not kept: the event is retried, and the next read may succeed.
      answer.catch(() => cache.delete(key));
    }
    return answer;
  };
  const version = (policyArn: string, versionId: string) =>
    once(`version ${policyArn} ${versionId}`, async () => {
      const { PolicyVersion } = await iam.send(
        new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }),
      );
      return PolicyVersion?.Document;
    });
  const defaultVersionId = (policyArn: string) =>
    once(`default ${policyArn}`, async () => {
      const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
      if (!Policy?.DefaultVersionId) throw new Error(`GetPolicy ${policyArn} named no default version`);
      return Policy.DefaultVersionId;
    });
  /**
   * The default before `newVersionId`: IAM keeps no history of defaults, so the newest other version
   * (at most five are kept) stands for it. That is exact for a new version made the default and for a
   * rollback to the one before; a jump between older versions is compared with the newest of the rest.
   */
  const previousVersionId = (policyArn: string, newVersionId: string) =>
    once(`previous ${policyArn} ${newVersionId}`, async () => {
      const { Versions = [] } = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn }));
      const others = Versions.filter((v) => v.VersionId && v.VersionId !== newVersionId).sort(
        (a, b) => (b.CreateDate?.getTime() ?? 0) - (a.CreateDate?.getTime() ?? 0),
      );
      return others[0]?.VersionId;
    });

  return {
    async documents(grant) {
      try {
        if (grant.kind !== 'policy-version') {
          return { document: await version(grant.policyArn, await defaultVersionId(grant.policyArn)) };
        }
        const newVersionId = grant.versionId ?? (await defaultVersionId(grant.policyArn));
        const document = grant.document ?? (await version(grant.policyArn, newVersionId));
        const previousId = await previousVersionId(grant.policyArn, newVersionId);
        return { document, ...(previousId && { previous: await version(grant.policyArn, previousId) }) };
      } catch (error) {
        // Deleted since, or not ours to read: the change still counts, as a widening.
        if (isNamed(error, NO_SUCH_ENTITY)) return { unreadable: 'it no longer exists' };
        if (isNamed(error, ['AccessDenied', 'AccessDeniedException']))
          return { unreadable: 'reauth may not read it' };
        throw error;
      }
    },
    groupMembers: (groupName) =>
      once(`group ${groupName}`, async () => {
        const members: string[] = [];
        let Marker: string | undefined;
        try {
          do {
            const page = await iam.send(new GetGroupCommand({ GroupName: groupName, Marker }));
            members.push(...(page.Users ?? []).flatMap((u) => (u.UserName ? [u.UserName] : [])));
            Marker = page.IsTruncated ? page.Marker : undefined;
          } while (Marker);
        } catch (error) {
          if (isNamed(error, NO_SUCH_ENTITY)) return [];
          throw error;
        }
        return members;
      }),
    policyEntities: (policyArn) =>
      once(`entities ${policyArn}`, async () => {
        const entities: PolicyEntities = { users: [], groups: [], roles: [] };
        let Marker: string | undefined;
        try {
          do {
            const page = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, Marker }));
            entities.users.push(...(page.PolicyUsers ?? []).flatMap((u) => (u.UserName ? [u.UserName] : [])));
            entities.groups.push(
              ...(page.PolicyGroups ?? []).flatMap((g) => (g.GroupName ? [g.GroupName] : [])),
            );
            entities.roles.push(...(page.PolicyRoles ?? []).flatMap((r) => (r.RoleName ? [r.RoleName] : [])));
            Marker = page.IsTruncated ? page.Marker : undefined;
          } while (Marker);
        } catch (error) {
          if (isNamed(error, NO_SUCH_ENTITY)) return entities;
          throw error;
        }
        return entities;
      }),
  };
}

function isNamed(error: unknown, names: readonly string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
