// A worker thread starts without the tsx loader that the CLI, the bench and the tests run
// under: register it, then run the service host (host.ts) in this thread.
import { register } from 'tsx/esm/api';

register();
await import('./host.ts');
