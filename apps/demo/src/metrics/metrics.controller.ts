import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ImdgoMetrics } from 'imdgo/metrics';

/** The slice of the HTTP response this controller touches, whatever the platform. */
interface HeaderSink {
  setHeader(name: string, value: string): unknown;
}

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  private readonly metrics: ImdgoMetrics;

  constructor(metrics: ImdgoMetrics) {
    this.metrics = metrics;
  }

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics of this node' })
  @ApiProduces('text/plain')
  scrape(@Res({ passthrough: true }) response: HeaderSink): Promise<string> {
    response.setHeader('Content-Type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
