import { fileURLToPath } from 'node:url';
import type { EmulatorControl } from './emulator';
import { type LambdaBridge, startLambdaBridge } from './lambda-bridge';

/** The session policy writer's function name on the emulator. */
export const SESSION_POLICIES_FUNCTION = 'reauth-session-policies';
const handler = fileURLToPath(new URL('../../lambdas/session-policies/handler.ts', import.meta.url));

/**
 * Serves reauth's session policy writer as the Lambda the enforcer invokes (moto runs no Node
 * function), and points this process's handlers at it (`SESSION_POLICIES_FUNCTION`), as the stack
 * does in enforce mode. In a member account it writes through `<enforcerRoleName>-sessions`, as the
 * StackSet's role. The emulator forgets it at a reset: `register` again after one.
 */
export async function serveSessionPolicies(
  emulator: Pick<EmulatorControl, 'bridgeLambda'>,
  enforcerRoleName = 'reauth-enforcer',
): Promise<LambdaBridge & { register(): Promise<void> }> {
  const bridge = await startLambdaBridge({
    [SESSION_POLICIES_FUNCTION]: {
      module: handler,
      env: { MEMBER_ROLE_NAME: `${enforcerRoleName}-sessions` },
    },
  });
  process.env.SESSION_POLICIES_FUNCTION = SESSION_POLICIES_FUNCTION;
  const register = () => emulator.bridgeLambda(bridge);
  await register();
  return { ...bridge, register };
}
