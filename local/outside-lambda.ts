/**
 * Process settings for running the Lambda handlers outside Lambda (reelhook dev,
 * reelhook generate, the tests). Imported for its side effects, before any handler
 * module loads.
 *
 * The X-Ray SDK behind Powertools Tracer starts, when imported, a continuation-local
 * storage that hooks every promise of the process (async_hooks with destroy tracking).
 * Tracing only ever runs inside Lambda, yet those hooks alone cost the local stack about
 * a fifth of its CPU; manual mode is the SDK's own switch for not installing them.
 */
process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
