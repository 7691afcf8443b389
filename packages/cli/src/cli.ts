import { parseArgs } from 'node:util';
import { isKeylessError } from '@keyless/core';
import type { Command } from './command.js';
import { claimsCommand } from './commands/claims.js';
import { configGcpCommand } from './commands/config-gcp.js';
import { doctorCommand } from './commands/doctor.js';
import { emulatorCommand } from './commands/emulator.js';
import { issuerCommand } from './commands/issuer.js';
import { setupAwsCommand } from './commands/setup-aws.js';
import { tokenCommand } from './commands/token.js';
import { type CliIo, createStyle, processIo, type Style } from './io.js';
import { UsageError } from './usage-error.js';
import { VERSION } from './version.js';

/** Exit codes: documented in the README and `keyless --help`. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const COMMANDS: readonly Command[] = [
  tokenCommand,
  claimsCommand,
  doctorCommand,
  issuerCommand,
  setupAwsCommand,
  configGcpCommand,
  emulatorCommand,
];

const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const;

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `keyless ${VERSION}: AWS web identity tokens for shells, gcloud and Terraform, and a doctor for federation set-ups

Usage: keyless <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Global options:
  -h, --help              help for keyless or a command
  -V, --version           print the version
  --debug                 show stack traces and causes of errors
  --no-color              no colours (also NO_COLOR=1; colours are only used on a terminal)

Exit codes: 0 success, 1 failure (including a failed doctor check), 2 usage error.
Run 'keyless <command> --help' for a command's options.`;
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.\n\n${command.help}\n`;
}

/** Runs the `keyless` command line; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const args = [...argv];
  const debug = args.includes('--debug');
  const style = createStyle(io, args.includes('--no-color'));
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    const topic = args[0] === 'help' ? findCommand(args.slice(1)) : undefined;
    io.stdout(topic ? commandHelp(topic.command) : `${mainHelp()}\n`);
    return args.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  if (args[0] === '--version' || args[0] === '-V') {
    io.stdout(`${VERSION}\n`);
    return EXIT_OK;
  }
  const found = findCommand(args);
  if (!found) {
    io.stderr(
      `${style.red('error:')} unknown command ${JSON.stringify(args.filter((a) => !a.startsWith('-')).join(' '))}\n\n${mainHelp()}\n`,
    );
    return EXIT_USAGE;
  }
  const { command, rest } = found;
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, ...GLOBAL_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    const { min = 0, max = 0 } = command.positionals ?? {};
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(
        max === 0
          ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
          : `expected ${min === max ? min : `${min}..${max}`} argument(s)`,
      );
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals, io, style, debug });
  } catch (error) {
    return reportError(io, style, error, debug, command);
  }
}

function findCommand(args: string[]): { command: Command; rest: string[] } | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  for (const command of [...COMMANDS].sort((a, b) => b.name.length - a.name.length)) {
    const parts = command.name.split(' ');
    if (parts.every((part, i) => words[i] === part)) {
      const rest = [...args];
      for (const part of parts) rest.splice(rest.indexOf(part), 1);
      return { command, rest };
    }
  }
  return undefined;
}

function reportError(io: CliIo, style: Style, error: unknown, debug: boolean, command: Command): number {
  const isUsage =
    error instanceof UsageError ||
    (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true);
  if (isUsage) {
    io.stderr(
      `${style.red('error:')} ${(error as Error).message}\nusage: ${command.usage}\nRun 'keyless ${command.name} --help' for the options.\n`,
    );
    return EXIT_USAGE;
  }
  if (isKeylessError(error)) {
    io.stderr(`${style.red('error:')} ${error.message} ${style.dim(`[${error.code}]`)}\n`);
    if (error.hint) io.stderr(`${style.yellow('hint:')} ${error.hint}\n`);
  } else {
    io.stderr(`${style.red('error:')} ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (debug) {
    for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      io.stderr(`${style.dim(e.stack ?? String(e))}\n`);
      if (isKeylessError(e) && Object.keys(e.details).length > 0)
        io.stderr(`${style.dim(`details: ${JSON.stringify(e.details)}`)}\n`);
    }
  }
  return EXIT_FAILURE;
}
