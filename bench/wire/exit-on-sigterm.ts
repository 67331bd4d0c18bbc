/**
 * Loaded with `--import` into demo processes that write a CPU profile: Nest's shutdown hook re-raises
 * SIGTERM after closing, and a process killed by a signal writes no profile; this exits normally first.
 */
process.once('SIGTERM', () => process.exit(0));
