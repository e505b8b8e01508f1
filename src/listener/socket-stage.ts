/**
 * The one property wsgate adds to a socket: what owns it now (the upgrade
 * attempt, then the tunnel). Event handlers are shared functions that find
 * their state here instead of closures made per connection, and a single
 * slot, reused from stage to stage, keeps the socket's shape small.
 */
export const OWNER = Symbol('wsgate.owner');

const EARLIER_STAGE = Symbol('wsgate.earlierStageErrorHandler');

/**
 * Marks an error handler of a stage before the tunnel (accept, HTTP): those
 * only log or ignore, and the tunnel replaces them with its own, so an idle
 * tunnel's socket holds one error listener rather than an array of three.
 */
export function earlierStageErrorHandler<T extends (...args: never[]) => void>(handler: T): T {
  (handler as T & { [EARLIER_STAGE]?: true })[EARLIER_STAGE] = true;
  return handler;
}

export function isEarlierStageErrorHandler(handler: unknown): handler is (error: Error) => void {
  return typeof handler === 'function' && (handler as { [EARLIER_STAGE]?: true })[EARLIER_STAGE] === true;
}
