// The local helpers' and the tests' name for it: the CLI creates the table too, so it lives in product code.
export { ensureDecisionTable } from '../../lambdas/shared/adapters/decision-table';
