/** A history that cannot be read; `line` is 1-based. */
export class HistoryParseError extends Error {
  readonly line: number;

  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = 'HistoryParseError';
    this.line = line;
  }
}
