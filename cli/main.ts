import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import { registerConfig } from './commands/config';
import { registerDecisions } from './commands/decisions';
import { registerEmit } from './commands/emit';
import { registerEnforce } from './commands/enforce';
import { registerOwners } from './commands/owners';
import { registerReport } from './commands/report';
import { registerScan } from './commands/scan';
import { registerVerify } from './commands/verify';
import { describeError, UsageError } from './errors';
import { EXIT_FINDINGS, type Outcome } from './output';

/** Exit codes, as the README documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, findings: EXIT_FINDINGS } as const;

/** The `reauth` command line, one file per command under commands/. */
export function buildProgram(outcome: Outcome): Command {
  const program = new Command('reauth')
    .description(
      'reauth: keeps machine credentials honest. AWS commands honour the standard AWS SDK settings.',
    )
    .version(version, '-V, --version', "print reauth's version")
    .option('--profile <name>', 'the AWS profile to use (sets AWS_PROFILE)')
    .option('--region <region>', 'the AWS region to use (sets AWS_REGION)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok; 1 a broken hash chain or a bad policy, or the command failed; 2 a usage error (an
option or argument, a profile that does not exist, a --table or --bus that names nothing); 3 findings,
only with --fail-on-findings (scan, enforce --dry-run).
The table is --table, else $REAUTH_TABLE; against the local emulator (AWS_ENDPOINT_URL) it defaults
to "reauth-decisions" and is created when missing. Run \`reauth <command> --help\` for its options.`,
    )
    // Help and errors through console, which tests capture; exits are ours to decide (see main).
    .configureOutput({
      writeOut: (text) => console.log(text.trimEnd()),
      writeErr: (text) => console.error(text.trimEnd()),
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for the usage)')
    .hook('preAction', (_program, action) => {
      const { profile, region } = action.optsWithGlobals<{ profile?: string; region?: string }>();
      if (profile) process.env.AWS_PROFILE = profile;
      if (region) process.env.AWS_REGION = region;
    });
  for (const register of [
    registerScan,
    registerDecisions,
    registerEnforce,
    registerEmit,
    registerVerify,
    registerReport,
    registerConfig,
    registerOwners,
  ]) {
    register(program, outcome);
  }
  return program;
}

/** Runs one command line; returns the process exit code (EXIT): 0 ok, 1 broken or failed, 2 usage, 3 findings when asked. */
export async function main(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.ok };
  const program = buildProgram(outcome);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (error) {
    // Commander has printed its message (an unknown option, a missing argument) or the help asked for.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      console.error(`reauth: ${error.message}`);
      console.error('(run with --help for the usage)');
      return EXIT.usage;
    }
    console.error(`reauth: ${describeError(error)}`);
    return EXIT.failed;
  }
}
