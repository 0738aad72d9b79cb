/**
 * `npx reelhook dev` runs as npm exec → sh → node. A SIGTERM to npm reaches the shell,
 * which dies without passing it on, and node is re-parented and keeps serving. So the
 * long-running command watches its parent and treats its disappearance like SIGTERM.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 250, parentPid: () => number = () => process.ppid): () => void {
  const original = parentPid();
  // Started by init/a container runtime (or already orphaned): nothing meaningful to watch.
  if (original <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (parentPid() === original) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  // Never the reason the process stays alive.
  timer.unref();
  return () => clearInterval(timer);
}
