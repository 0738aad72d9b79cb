#!/usr/bin/env node
// The CLI runs the TypeScript sources directly (through tsx), so local mode executes
// exactly the handler code in functions/, with no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
// Local mode runs on Node 20, which the SDK supports today; its notice about 2027 is noise in a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
