/**
 * The load generator's side of `ForkedGenerator`: its argument, and the IPC loop answering the
 * orchestrator's requests. A generator whose orchestrator is gone exits.
 */

/** The JSON argument the orchestrator forked this generator with. */
export function generatorArgs<Args>(): Args {
  process.on('disconnect', () => process.exit(1));
  return JSON.parse(process.argv[2]!) as Args;
}

/** Answers every request with `handle`'s result or error, then tells the orchestrator it is ready. */
export function serveGeneratorRequests<Request>(handle: (request: Request) => Promise<unknown>): void {
  process.on('message', (message: { id: number; request: Request }) => {
    handle(message.request).then(
      (result) => process.send!({ type: 'reply', id: message.id, ok: true, result }),
      (error: unknown) =>
        process.send!({ type: 'reply', id: message.id, ok: false, error: describeError(error) }),
    );
  });
  process.send!({ type: 'ready' });
}

/** fetch's own message ("fetch failed") hides the reason in its cause. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`;
}
