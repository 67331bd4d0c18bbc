import type { ApiPropertyOptions } from '@nestjs/swagger';

/** OpenAPI schema of a stored value: any JSON but null (null means "absent" in compare-and-set). */
export const ANY_JSON: ApiPropertyOptions = {
  oneOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'object' },
    { type: 'array', items: {} },
  ],
};
