/**
 * reauth as a library: the {@link Reauth} construct to compose into your own stack, the stacks the
 * reauth app deploys, and the policy's types.
 */
export type { PolicyConfig, PolicyConfigInput } from '../lambdas/shared/domain/policy';
export { PolicyConfigError } from '../lambdas/shared/domain/policy';
export { type StateMachineDefinition, stateMachineDefinitions } from './fan-out';
export { IamEventForwarderStack, type IamEventForwarderStackProps } from './iam-event-forwarder';
export { MemberStack, type MemberStackProps } from './member-stack';
export { MANAGED_BY_TAG, POLICY_ID_TAG, Reauth, type ReauthProps } from './reauth';
export { ReauthStack, type ReauthStackProps } from './reauth-stack';
