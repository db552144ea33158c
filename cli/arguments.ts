import { InvalidArgumentError } from 'commander';
import { parseCredentialId } from '../lambdas/shared/domain/credential';

/**
 * A credential id on the command line (`decisions <credentialId>`, `emit --credential-id`): checked
 * as it is parsed, so a malformed one is a usage error (exit 2) naming the argument, before any AWS call.
 */
export function credentialIdArgument(text: string): string {
  try {
    parseCredentialId(text);
  } catch {
    throw new InvalidArgumentError(
      'not a credential id: want <accountId>:<kind>:<id> (12 digits, then access-key, secret, role, password, signing-certificate, ssh-key or service-credential), as `reauth scan` prints it',
    );
  }
  return text;
}
