/**
 * What the primary and the workers of `--workers N` tell each other over the
 * cluster's IPC channel (issue 12). Every message is a plain object whose
 * `type` starts with `wsgate:`; what arrives is validated against these
 * schemas and anything else (prom-client's own cluster messages included) is
 * ignored, so a malformed or foreign message can never throw in a handler.
 *
 * A backend is named by a BackendRef: the route's configured position, the
 * backend's position in that route's list, and its id. Primary and workers
 * compile the same configuration, so the positions agree; the id guards the
 * moments around a reload, when one side may still have the old table (a ref
 * whose id does not match is ignored, and the worker asks for the whole state
 * again once it has reloaded).
 *
 * worker -> primary
 *   sync       ready (or just reloaded): send me the whole state
 *   observed   live traffic saw a connect failure, a bad response, or a success
 *   ack        an action was applied
 *   report     answer to collect: figures for /stats, tunnel counts for /backends
 * primary -> worker
 *   state      the whole state: health, drain and weight of every backend
 *   health     changes of health only
 *   action     drain, undrain or weight by backend id; answered with ack
 *   collect    asks for a report
 */
import * as v from 'valibot';

const RequestId = v.pipe(v.number(), v.integer(), v.minValue(0));
const Count = v.pipe(v.number(), v.minValue(0));

const BackendRefSchema = v.object({
  /** The route's position in the configuration (Route.index). */
  route: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The backend's position in the route's backend list. */
  slot: v.pipe(v.number(), v.integer(), v.minValue(0)),
  id: v.string(),
});

const HealthStateSchema = v.object({
  backend: BackendRefSchema,
  healthy: v.boolean(),
  /**
   * The primary counts passive failures of this backend: the worker reports
   * successes too (they reset the count). Otherwise successes stay in the
   * worker, so a healthy gateway sends nothing per connection.
   */
  reportSuccess: v.boolean(),
});

const BackendStateSchema = v.object({
  ...HealthStateSchema.entries,
  draining: v.boolean(),
  weight: v.pipe(v.number(), v.integer(), v.minValue(1)),
});

const BackendActionSchema = v.variant('kind', [
  v.object({ kind: v.picklist(['drain', 'undrain']), backendId: v.string() }),
  v.object({ kind: v.literal('weight'), backendId: v.string(), weight: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
]);

const StatsSampleSchema = v.object({
  at: v.number(),
  tunnelsActive: Count,
  handshakesTotal: Count,
  rejectedTotal: Count,
  bytesTotal: Count,
  closeCodes: v.record(v.string(), Count),
});

const WorkerMessageSchema = v.variant('type', [
  v.object({ type: v.literal('wsgate:sync') }),
  v.object({
    type: v.literal('wsgate:observed'),
    backend: BackendRefSchema,
    outcome: v.picklist(['connect-failed', 'bad-response', 'succeeded']),
    detail: v.string(),
  }),
  v.object({ type: v.literal('wsgate:ack'), requestId: RequestId }),
  v.object({
    type: v.literal('wsgate:report'),
    requestId: RequestId,
    stats: StatsSampleSchema,
    /** Open tunnels per backend, those with none left out. */
    tunnels: v.array(v.object({ backend: BackendRefSchema, count: Count })),
  }),
]);

const PrimaryMessageSchema = v.variant('type', [
  v.object({ type: v.literal('wsgate:state'), backends: v.array(BackendStateSchema) }),
  v.object({ type: v.literal('wsgate:health'), backends: v.array(HealthStateSchema) }),
  v.object({ type: v.literal('wsgate:action'), requestId: RequestId, action: BackendActionSchema }),
  v.object({ type: v.literal('wsgate:collect'), requestId: RequestId }),
]);

export type BackendRef = v.InferOutput<typeof BackendRefSchema>;
export type HealthState = v.InferOutput<typeof HealthStateSchema>;
export type BackendState = v.InferOutput<typeof BackendStateSchema>;
export type BackendAction = v.InferOutput<typeof BackendActionSchema>;
export type WorkerMessage = v.InferOutput<typeof WorkerMessageSchema>;
export type PrimaryMessage = v.InferOutput<typeof PrimaryMessageSchema>;

/** A message from a worker, or undefined for anything that is not one. */
export function parseWorkerMessage(message: unknown): WorkerMessage | undefined {
  if (!isOurs(message)) return undefined;
  const result = v.safeParse(WorkerMessageSchema, message);
  return result.success ? result.output : undefined;
}

/** A message from the primary, or undefined for anything that is not one. */
export function parsePrimaryMessage(message: unknown): PrimaryMessage | undefined {
  if (!isOurs(message)) return undefined;
  const result = v.safeParse(PrimaryMessageSchema, message);
  return result.success ? result.output : undefined;
}

/** A cheap first look, so that other libraries' messages (prom-client's) skip the schema. */
function isOurs(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' && type.startsWith('wsgate:');
}

/** The same backend on both sides: a map key. */
export function refKey(ref: BackendRef): string {
  return `${ref.route}/${ref.slot}/${ref.id}`;
}
