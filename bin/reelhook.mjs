#!/usr/bin/env node
// The CLI runs the TypeScript sources directly (through tsx), so local mode executes
// exactly the handler code in functions/, with no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
