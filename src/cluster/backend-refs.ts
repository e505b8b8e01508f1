import type { Route } from '../routing/route-table.js';
import type { Backend } from '../upstream/backend.js';
import { refKey, type BackendRef } from './messages.js';

/**
 * The backends of one route table by BackendRef (messages.ts), both ways. A
 * Backend object may sit in several routes (a reload reuses the running
 * object for every route that lists its address and id), so it may have
 * several refs.
 */
export class BackendRefs {
  readonly #byKey = new Map<string, Backend>();
  readonly #refsOf = new Map<Backend, BackendRef[]>();
  readonly #all: Array<readonly [BackendRef, Backend]> = [];

  constructor(readonly routes: readonly Route[]) {
    for (const route of routes) {
      route.pool.backends.forEach((backend, slot) => {
        const ref: BackendRef = { route: route.index, slot, id: backend.id };
        this.#byKey.set(refKey(ref), backend);
        const refs = this.#refsOf.get(backend);
        if (refs === undefined) this.#refsOf.set(backend, [ref]);
        else refs.push(ref);
        this.#all.push([ref, backend]);
      });
    }
  }

  /** The backend a ref names, if this table has it with that id. */
  find(ref: BackendRef): Backend | undefined {
    return this.#byKey.get(refKey(ref));
  }

  /** The first ref of a backend of this table. */
  refOf(backend: Backend): BackendRef | undefined {
    return this.#refsOf.get(backend)?.[0];
  }

  /** Every (ref, backend) pair, routes in table order. */
  entries(): ReadonlyArray<readonly [BackendRef, Backend]> {
    return this.#all;
  }

  /** Every backend with this id, in every route (an id names a backend everywhere, as in the admin API). */
  withId(id: string): Backend[] {
    return [...this.#refsOf.keys()].filter((backend) => backend.id === id);
  }
}

/** BackendRefs of whatever table `routes()` returns now, rebuilt only when the table was replaced (reload). */
export function cachedRefs(routes: () => readonly Route[]): () => BackendRefs {
  let cached: BackendRefs | undefined;
  return () => {
    const current = routes();
    if (cached?.routes !== current) cached = new BackendRefs(current);
    return cached;
  };
}
