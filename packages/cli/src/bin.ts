#!/usr/bin/env node
// The keyless command is not implemented yet (see the open issue).
process.stderr.write('keyless: the CLI is not implemented yet\n');
process.exitCode = 1;
