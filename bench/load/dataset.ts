/** The keys and the value every system is loaded with: fixed-width keys, one value of the asked size. */
export interface Dataset {
  readonly keys: readonly string[];
  readonly value: string;
  randomKey(): string;
}

export function makeDataset(keyCount: number, valueBytes: number): Dataset {
  const width = String(Math.max(0, keyCount - 1)).length;
  const keys = Array.from({ length: keyCount }, (_, i) => `key:${String(i).padStart(width, '0')}`);
  // ASCII, so the value is valueBytes bytes in every system's encoding.
  let value = '';
  for (let i = 0; i < valueBytes; i++) value += String.fromCharCode(97 + ((i * 7) % 26));
  return {
    keys,
    value,
    randomKey: () => keys[Math.floor(Math.random() * keys.length)]!,
  };
}
