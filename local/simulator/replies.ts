/** What the simulated API answers to create calls and status checks, faults included. */
import type { FaultOf } from './faults.js';
import { creditsUsed, type SimulatedGeneration, type TimelineStatus } from './generations.js';
import { apiErrorReply, JSON_CONTENT_TYPE, jsonReply, type Reply } from './responses.js';

const CREATE_FAULT_REPLIES: Record<FaultOf<'create'>, (path: string) => Reply> = {
  'create-400': (path) =>
    apiErrorReply(400, 'The request was rejected: the prompt violates the content policy', path),
  'create-403': (path) =>
    apiErrorReply(
      403,
      'You have run out of credits. Top up your balance to continue using the API',
      path,
    ),
  'create-429': (path) => tooManyRequests(path),
  'create-500': (path) => apiErrorReply(500, 'Internal server error', path),
};

function tooManyRequests(path: string): Reply {
  return apiErrorReply(429, 'Too many requests, please slow down', path, { 'retry-after': '1' });
}

export function createFaultReply(fault: FaultOf<'create'>, path: string): Reply {
  return CREATE_FAULT_REPLIES[fault](path);
}

export function createdReply(generation: SimulatedGeneration): Reply {
  return jsonReply(200, { id: generation.id, status: 'queued' });
}

const BAD_GATEWAY_PAGE =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n' +
  '<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

interface StatusBody {
  readonly id: string;
  readonly status: string;
  readonly video: { readonly url: string } | null;
  readonly error: { readonly name: string; readonly message: string } | null;
  readonly meta: { readonly usage: { readonly credits_used: number } } | null;
}

function pending(generation: SimulatedGeneration, status: string): StatusBody {
  return { id: generation.id, status, video: null, error: null, meta: null };
}

function completed(generation: SimulatedGeneration, videoUrl: string | null): StatusBody {
  return {
    id: generation.id,
    status: 'completed',
    video: videoUrl === null ? null : { url: videoUrl },
    error: null,
    meta: { usage: { credits_used: creditsUsed(generation) } },
  };
}

/**
 * The answer to a status check of `generation`, which stands at `timeline` and would be
 * downloadable from `videoUrl` once completed, misbehaving as `fault` says.
 */
export function statusReply(
  generation: SimulatedGeneration,
  timeline: TimelineStatus,
  videoUrl: string,
  fault: FaultOf<'status'> | undefined,
  path: string,
): Reply {
  switch (fault) {
    case 'status-429':
      return tooManyRequests(path);
    case 'status-502':
      return { statusCode: 502, contentType: 'text/html', body: BAD_GATEWAY_PAGE };
    case 'status-malformed':
      // A body cut off mid-way, as a proxy dropping the upstream connection leaves it.
      return {
        statusCode: 200,
        contentType: JSON_CONTENT_TYPE,
        body: `{"id":"${generation.id}","status":"gene`,
      };
    case 'status-unknown':
      return jsonReply(200, pending(generation, 'waiting'));
    case 'status-error':
      return jsonReply(200, {
        ...pending(generation, 'error'),
        error: {
          name: 'GenerationError',
          message: 'The video could not be generated, please try again',
        },
      });
    case 'status-never':
      return jsonReply(
        200,
        pending(generation, timeline === 'completed' ? 'generating' : timeline),
      );
    case 'status-no-url':
      return jsonReply(200, completed(generation, null));
    case undefined:
      return jsonReply(
        200,
        timeline === 'completed' ? completed(generation, videoUrl) : pending(generation, timeline),
      );
  }
}
