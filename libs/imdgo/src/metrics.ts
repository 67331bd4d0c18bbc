// The `imdgo/metrics` entry: kept apart so that only apps that use it need `prom-client`.
export { ImdgoMetrics } from './nest/imdgo-metrics.ts';
