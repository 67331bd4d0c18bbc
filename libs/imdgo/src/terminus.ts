// The `imdgo/terminus` entry: kept apart so that only apps that use it need `@nestjs/terminus`.
export { ImdgoHealthIndicator } from './nest/imdgo-health.indicator.ts';
