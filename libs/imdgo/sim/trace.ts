/**
 * The run's fingerprint and its last lines. Every event feeds a 32-bit FNV-1a hash, so two runs of one seed
 * can be compared cheaply; only the tail is kept as text, to print with a failure.
 */
export class Trace {
  private hash = 0x811c9dc5;
  private readonly tail: string[] = [];
  private readonly tailSize: number;

  constructor(tailSize = 40) {
    this.tailSize = tailSize;
  }

  /** Feeds the hash only: for high-volume events such as message deliveries. */
  mix(text: string): void {
    let h = this.hash;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.hash = h >>> 0;
  }

  /** Feeds the hash and keeps the line for a failure report. */
  line(time: number, text: string): void {
    const stamped = `t=${time} ${text}`;
    this.mix(stamped);
    this.tail.push(stamped);
    if (this.tail.length > this.tailSize) this.tail.shift();
  }

  digest(): string {
    return this.hash.toString(16).padStart(8, '0');
  }

  lastLines(): readonly string[] {
    return this.tail;
  }
}
