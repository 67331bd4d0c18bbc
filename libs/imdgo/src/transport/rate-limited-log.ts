/** Where the lines go: a Nest Logger, or anything with its `warn`. */
export interface WarnSink {
  warn(message: string): unknown;
}

/**
 * Warning lines about what outsiders can trigger at will (refused handshakes, refused connections): at
 * most `linesPerWindow` per window, then one line counting what was left out, so that a storm of
 * attempts cannot flood the log.
 */
export class RateLimitedLog {
  private readonly sink: WarnSink;
  private readonly linesPerWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private lines = 0;
  private suppressed = 0;

  constructor(sink: WarnSink, linesPerWindow = 5, windowMs = 10_000, now: () => number = Date.now) {
    this.sink = sink;
    this.linesPerWindow = linesPerWindow;
    this.windowMs = windowMs;
    this.now = now;
  }

  warn(message: string): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) {
        this.sink.warn(
          `${this.suppressed} similar lines left out in the window of ${this.windowMs} ms before`,
        );
      }
      this.windowStart = now;
      this.lines = 0;
      this.suppressed = 0;
    }
    if (this.lines < this.linesPerWindow) {
      this.lines++;
      this.sink.warn(message);
    } else {
      this.suppressed++;
    }
  }
}
