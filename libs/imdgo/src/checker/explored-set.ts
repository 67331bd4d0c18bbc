/**
 * The memo of Lowe's algorithm: a set of (linearized-operations bitset, state) pairs, as an
 * open-addressing hash table over flat typed arrays. The search probes it once per step and it grows to
 * millions of entries, so a Map of Maps of arrays would spend most of its time missing the cache.
 */
export class ExploredSet {
  readonly #words: number;
  readonly #stateIds = new Map<string, number>();
  /** Entry index + 1 per slot; 0 marks a free slot. */
  #slots = new Int32Array(1024);
  #hashes = new Int32Array(512);
  #states = new Int32Array(512);
  #bits: Uint32Array;
  #size = 0;

  /** `words` is the length of every bitset that will be added. */
  constructor(words: number) {
    this.#words = words;
    this.#bits = new Uint32Array(512 * words);
  }

  /**
   * Adds the pair unless present; returns whether it was added. `setHash` must be a hash of `bits`
   * (any 32-bit integer that equal sets share).
   */
  add(setHash: number, bits: Uint32Array, stateKey: string): boolean {
    let state = this.#stateIds.get(stateKey);
    if (state === undefined) {
      state = this.#stateIds.size;
      this.#stateIds.set(stateKey, state);
    }
    const hash = Math.imul(setHash ^ Math.imul(state, 0x9e3779b1), 0x85ebca6b) ^ state;
    const mask = this.#slots.length - 1;
    let slot = hash & mask;
    for (let entry = this.#slots[slot]; entry !== 0; entry = this.#slots[slot]) {
      if (
        this.#hashes[entry - 1] === hash &&
        this.#states[entry - 1] === state &&
        this.#holds(entry - 1, bits)
      ) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    this.#append(hash, state, bits);
    this.#slots[slot] = this.#size;
    // Keep at most half the slots used so that probe runs stay short.
    if (this.#size * 2 > this.#slots.length) this.#rehash();
    return true;
  }

  #holds(entry: number, bits: Uint32Array): boolean {
    const offset = entry * this.#words;
    for (let i = 0; i < this.#words; i++) if (this.#bits[offset + i] !== bits[i]) return false;
    return true;
  }

  #append(hash: number, state: number, bits: Uint32Array): void {
    if (this.#size === this.#hashes.length) {
      this.#hashes = grow(this.#hashes, this.#size * 2);
      this.#states = grow(this.#states, this.#size * 2);
      const more = new Uint32Array(this.#bits.length * 2);
      more.set(this.#bits);
      this.#bits = more;
    }
    this.#hashes[this.#size] = hash;
    this.#states[this.#size] = state;
    this.#bits.set(bits, this.#size * this.#words);
    this.#size++;
  }

  #rehash(): void {
    this.#slots = new Int32Array(this.#slots.length * 2);
    const mask = this.#slots.length - 1;
    for (let entry = 0; entry < this.#size; entry++) {
      let slot = this.#hashes[entry] & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = entry + 1;
    }
  }
}

function grow(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}
