type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Flags override the file (issue 4): objects are merged key by key (so
 * `--connect-timeout` changes one timeout and keeps the file's others),
 * anything else, arrays included, is replaced (any `--route` replaces the
 * file's whole route list: merging two lists would make the order, which
 * decides matches, impossible to read). Pure: returns new objects.
 */
export function overlayConfig(file: unknown, flags: Plain): unknown {
  if (!isPlain(file)) return file; // reported by validation as it is
  const merged: Plain = { ...file };
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const base = merged[key];
    merged[key] = isPlain(base) && isPlain(value) ? overlayConfig(base, value) : value;
  }
  return merged;
}

/** The top-level keys (and nested keys, dotted) that `flags` sets: problems there are the flags', not the file's. */
export function flagPaths(flags: Plain, prefix: ReadonlyArray<string> = []): string[] {
  return Object.entries(flags).flatMap(([key, value]) => {
    if (value === undefined) return [];
    return isPlain(value) ? flagPaths(value, [...prefix, key]) : [[...prefix, key].join('.')];
  });
}
