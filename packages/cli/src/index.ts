export { COMMANDS, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from './cli.js';
export type { Command, CommandContext } from './command.js';
export { type PolicyOptions, webIdentityTokenPolicy } from './commands/setup-aws.js';
export type { CliIo } from './io.js';
