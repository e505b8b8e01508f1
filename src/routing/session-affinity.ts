import type { SessionAffinitySetting } from '../config/affinity-schema.js';
import type { RequestFacts } from './request-facts.js';

export type SessionAffinity = Exclude<SessionAffinitySetting, false>;

/**
 * The backend id a session id names, or undefined. A backend that mints its
 * session ids as "<its id><separator><random>" (Socket.IO: io.engine.generateId)
 * gets every later request of the session, with no state shared between
 * gateway processes: the id travels in the request itself. This is what makes
 * Node's socket.io-client, which keeps no cookies, work across backends.
 */
export function backendIdInSession(facts: RequestFacts, affinity: SessionAffinity): string | undefined {
  const sessionId = facts.queryParam(affinity.param);
  if (sessionId === undefined) return undefined;
  const at = sessionId.indexOf(affinity.separator);
  return at > 0 ? sessionId.slice(0, at) : undefined;
}
