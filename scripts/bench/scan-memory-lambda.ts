/**
 * What `npm run bench` runs in a child process for the scan Lambda's memory: the handler, bundled as
 * `cdk synth` bundles it, cold-started with the environment it was given, invoked once as the daily
 * schedule invokes it.
 */
import { handler } from '../../lambdas/scan/handler';

const result = await handler({}, { getRemainingTimeInMillis: () => 900_000 });
console.log(JSON.stringify({ inventory: result.inventory, decisionsWritten: result.decisionsWritten }));
