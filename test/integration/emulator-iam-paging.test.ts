import {
  CreateRoleCommand,
  CreateUserCommand,
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
} from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';

// moto answers every entity in one page; the emulator pages as IAM does (see server.py), so a scan of
// a large account reads, and the memory bench measures, pages of at most MaxItems entities.
const { clients } = useEmulator();
const USERS = ['paging-a', 'paging-b', 'paging-c', 'paging-d', 'paging-e'];
const ROLES = ['paging-role-a', 'paging-role-b'];

beforeAll(async () => {
  for (const UserName of USERS) await clients.iam.send(new CreateUserCommand({ UserName }));
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  for (const RoleName of ROLES)
    await clients.iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: trust }));
});

describe('GetAccountAuthorizationDetails in the emulator, as in IAM', () => {
  it('answers at most MaxItems entities a page, and every user and role once across the pages', async () => {
    const pages: GetAccountAuthorizationDetailsCommandOutput[] = [];
    let Marker: string | undefined;
    do {
      const page = await clients.iam.send(
        new GetAccountAuthorizationDetailsCommand({ Filter: ['User', 'Role'], MaxItems: 3, Marker }),
      );
      pages.push(page);
      Marker = page.IsTruncated ? page.Marker : undefined;
    } while (Marker);

    const users = pages.flatMap((page) => (page.UserDetailList ?? []).map((user) => user.UserName));
    const roles = pages.flatMap((page) => (page.RoleDetailList ?? []).map((role) => role.RoleName));
    expect(users.filter((name) => name?.startsWith('paging-'))).toEqual(USERS);
    expect(roles.filter((name) => name?.startsWith('paging-'))).toEqual(ROLES);
    for (const page of pages)
      expect((page.UserDetailList?.length ?? 0) + (page.RoleDetailList?.length ?? 0)).toBeLessThanOrEqual(3);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.at(-1)?.IsTruncated).toBe(false);
  });
});
