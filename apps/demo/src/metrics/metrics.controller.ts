import { Controller, Get, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ImdgoMetrics } from 'imdgo/metrics';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  private readonly metrics: ImdgoMetrics;
  private readonly adapterHost: HttpAdapterHost;

  constructor(metrics: ImdgoMetrics, adapterHost: HttpAdapterHost) {
    this.metrics = metrics;
    this.adapterHost = adapterHost;
  }

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics of this node' })
  @ApiProduces('text/plain')
  scrape(@Res({ passthrough: true }) response: unknown): Promise<string> {
    // Through the adapter: Express and Fastify responses set headers differently.
    this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
