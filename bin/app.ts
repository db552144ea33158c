import { PolicyConfigError } from '../lambdas/shared/domain/policy';
import { buildApp } from '../lib/reauth-app';

try {
  buildApp();
} catch (error) {
  // A bad policy is the user's to fix: its message names the field; a stack trace adds nothing.
  if (!(error instanceof PolicyConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
