/**
 * Serializes a JSON-like value with object keys sorted, so two values are deeply equal exactly when
 * their canonical forms are equal. `undefined` counts as `null` (absent).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
