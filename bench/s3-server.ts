/**
 * The local S3 stand-in (s3rver, as reelhook dev runs it) in a process of its own, so
 * the copy's memory and CPU are measured apart from the server's. Prints its endpoint.
 *
 * Usage: tsx bench/s3-server.ts <directory> <bucket>
 */
import { startLocalS3 } from '../local/s3.js';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) throw new Error('usage: s3-server.ts <directory> <bucket>');
const s3 = await startLocalS3({ directory, buckets: [bucket] });
process.stdout.write(`endpoint ${s3.endpoint}\n`);
process.once('SIGTERM', () => {
  void s3.close().finally(() => process.exit(0));
});
