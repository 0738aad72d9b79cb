/**
 * Bearer authentication is ApiKeyStore.authenticate on every request: consistent reads,
 * no cache, so a revoked key answers 401 from the very next request on every instance
 * (a cache of successes is exactly what let a revoked key keep working).
 */
import type { ApiKeyRecord } from '#shared/api-keys.js';

export type Authenticate = (token: string) => Promise<ApiKeyRecord | null>;

