import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/**
 * The `:map` route parameter, or undefined on the default map's routes. Unlike `@Param('map')`, it does
 * not make OpenAPI document a path parameter that `/kv/...` does not have.
 */
export const MapName = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined =>
    context.switchToHttp().getRequest<{ params: Record<string, string | undefined> }>().params.map,
);
