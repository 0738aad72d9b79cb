/**
 * The local S3 stand-in for the copy bench, run as reelhook dev runs it: inside the whole
 * local stack's process (idle but for the copy), and apart from the copy's own process so
 * that the copy's memory and CPU are measured without the server's. The copies go to the
 * stack's own bucket (LOCAL_NAMES.bucketName). Prints its endpoint.
 *
 * Not s3rver alone: in a process of its own, with a heap of about 13 MB, V8 ran a full
 * collection every 70–150 ms while a GiB of request buffers went through, and the
 * stand-in spent 3.0–4.6 s of CPU per GiB, against 1.5–2.5 s inside the stack's process.
 *
 * Usage: tsx bench/s3-server.ts <directory>
 */
import { startLocalStack } from '../local/stack.js';

const [directory] = process.argv.slice(2);
if (!directory) throw new Error('usage: s3-server.ts <directory>');
const stack = await startLocalStack({ dataDir: directory, port: 0 });
process.stdout.write(`endpoint ${stack.s3Endpoint}\n`);
process.once('SIGTERM', () => {
  void stack.close().finally(() => process.exit(0));
});
