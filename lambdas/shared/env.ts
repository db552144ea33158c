import type * as z from 'zod';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** Validates a function's environment against its contract; fails loudly, naming each bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`bad environment: ${problems.join('; ')}`, { cause: result.error });
  }
  return result.data;
}
